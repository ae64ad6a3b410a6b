"""Small Streamlit-side helpers for showing images: grids, captions, the reading choices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

IMAGE_SUFFIXES = (".zip", ".npz", ".png", ".jpg", ".jpeg", ".dcm", ".dicom")
SIZES = [28, 32, 64, 128]
DEFAULT_SIZE = 64
COLOURS = {"as read": None, "grayscale": 1, "RGB": 3}
IMAGE_KEY = "explain_image"  # the last image predicted, for Explain: {"model_id", "image", "name"}
GRID_WIDTH = 96


def is_image_file(name: str, data: bytes) -> bool:
    """Whether an upload goes to the image reader: by its suffix (DICOM also by its marker)."""
    return name.lower().endswith(IMAGE_SUFFIXES) or data[128:132] == b"DICM"


def displayable(image: np.ndarray) -> np.ndarray:
    """An (H, W, 1) image as (H, W) for st.image; others unchanged."""
    image = np.asarray(image)
    return image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray, captions: Sequence[str], width: int = GRID_WIDTH
) -> None:
    """Images side by side (wrapping), each with its caption."""
    if len(images) == 0:
        return
    st.image([displayable(i) for i in images], caption=list(captions), width=width)


def shape_text(shape: Sequence[int]) -> str:
    """'28 × 28 pixels, grayscale' for an (H, W, C) shape."""
    height, width, channels = [*shape, 1][:3]
    colour = {1: "grayscale", 3: "RGB"}.get(channels, f"{channels} channels")
    return f"{height} × {width} pixels, {colour}"


def short(text: Any, limit: int = 28) -> str:
    """A file name for a caption: its end, when long."""
    text = str(text)
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def table_probabilities(table: Any) -> np.ndarray:
    """The probability columns of a prediction table (n, 1 for binary, n, k for multiclass)."""
    return table.filter(like="probability_").to_numpy(dtype=float)


def class_probabilities(layout: Any, probabilities: Sequence[float]) -> list[float]:
    """One probability per class of ``layout.classes`` from one row of probabilities."""
    if layout.task == "binary":
        p = float(probabilities[0])
        return [p if c == layout.positive_class else 1.0 - p for c in layout.classes]
    return [float(v) for v in probabilities]


def show_skipped(skipped: Sequence[Any]) -> None:
    """The files an image reader skipped, each with its reason (nothing when none was)."""
    if not skipped:
        return
    import pandas as pd

    st.warning(
        f"{len(skipped)} file(s) were skipped; the reasons are listed below.",
        icon=":material/warning:",
    )
    st.dataframe(
        pd.DataFrame([{"file": s.name, "reason": s.reason} for s in skipped]), hide_index=True
    )
