"""Building Keras models from a spec. Import the submodules; Keras loads only when a model is built."""

from __future__ import annotations

from dlcore.models.spec import ModelSpec, check_spec, default_spec

__all__ = ["ModelSpec", "check_spec", "default_spec"]
