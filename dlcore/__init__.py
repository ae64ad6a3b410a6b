"""dlcore: the engine of the clinician deep-learning dashboard.

Heavy libraries (TensorFlow/Keras, SHAP) are imported inside the functions that need them, so
importing this package is cheap. It never imports Streamlit.
"""

from __future__ import annotations

__version__ = "0.1.0"
