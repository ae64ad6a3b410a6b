"""Plotly figures from report objects: one style module, one module per subject."""
