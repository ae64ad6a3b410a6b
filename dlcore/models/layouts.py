"""What a model takes and gives: the tabular and image layouts saved in the card."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.dataset import MISSING_CATEGORY
from dlcore.data.schema import MOLECULE, NUMERIC, Schema


@dataclass
class FeatureInfo:
    """One model input: its column, input name, how it is encoded, and what training saw."""

    name: str
    input: str
    kind: str  # numeric | categorical | molecule
    categories: list[str] = field(default_factory=list)
    min: float | None = None
    max: float | None = None
    median: float | None = None
    missing_share: float = 0.0
    # molecule: the featuriser's settings (dlcore.data.molecules.MoleculeSettings as a dict), so
    # predict and explain turn raw SMILES into the same fingerprint and descriptor vector
    molecule: dict[str, Any] | None = None


@dataclass
class TabularLayout:
    """The inputs of a tabular model, in order, with the task and the outcome classes."""

    features: list[FeatureInfo]
    task: str
    classes: list[str] = field(default_factory=list)
    positive_class: str | None = None
    target: str | None = None
    time_column: str | None = None
    baseline: dict[str, Any] | None = None  # survival: Breslow's baseline cumulative hazard

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def kinds(self) -> dict[str, str]:
        return {f.name: f.kind for f in self.features}

    @property
    def molecule_features(self) -> list[FeatureInfo]:
        """The inputs that take SMILES (featurised before the model call)."""
        return [f for f in self.features if f.kind == MOLECULE]

    kind = "tabular"

    def inputs(self, features: pd.DataFrame, *, views: bool = False) -> dict[str, np.ndarray]:
        """Typed features as the model's input dict (see ``to_model_inputs``)."""
        return to_model_inputs(self, features, views=views)

    @property
    def positive_label(self) -> str | None:
        """The positive class in words (see ``outcome_label``): 'malignant', or the target's name
        when the class is only '1'/'yes'/'true' — 'Probability of DEATH_EVENT', never 'of 1'."""
        return outcome_label(self.positive_class, self.target)

    @property
    def output_names(self) -> list[str]:
        """What the model's output columns mean."""
        if self.task == "multiclass":
            return list(self.classes)
        if self.task == "binary":
            return [f"P({self.positive_label})"]
        if self.task == "survival":
            return ["log-risk"]
        return [self.target or "prediction"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabularLayout:
        return cls(
            features=[FeatureInfo(**f) for f in data["features"]],
            task=data["task"],
            classes=list(data.get("classes", [])),
            positive_class=data.get("positive_class"),
            target=data.get("target"),
            time_column=data.get("time_column"),
            baseline=data.get("baseline"),
        )


_BARE_POSITIVE = ("1", "1.0", "yes", "y", "true", "t", "positive", "pos")


def outcome_label(positive_class: str | None, target: str | None) -> str | None:
    """The words for the positive class: the class itself when it has a name ('malignant'), the
    target's name when the class is a bare '1', 'yes' or 'true' (the outcome is the target)."""
    if positive_class is None:
        return None
    if str(positive_class).strip().lower() in _BARE_POSITIVE and target:
        return str(target)
    return str(positive_class)


def input_names(columns: list[str]) -> dict[str, str]:
    """Valid, unique Keras input names for column names ('mean radius' → 'mean_radius')."""
    used: set[str] = set()
    out = {}
    for column in columns:
        base = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_") or "column"
        if base[0].isdigit():
            base = f"c_{base}"
        name, i = base, 2
        while name.lower() in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name.lower())
        out[column] = name
    return out


MIN_CATEGORY_RECORDS = 5


def make_layout(
    schema: Schema,
    features: pd.DataFrame,
    kinds: dict[str, str],
    molecule: dict[str, Any] | None = None,
) -> TabularLayout:
    """Describe the inputs from the typed training features (categories, ranges, missingness);
    molecule columns keep ``molecule`` (the featuriser's settings, defaults when None)."""
    names = input_names(schema.feature_names)
    infos = []
    for column in schema.feature_names:
        values = features[column]
        info = FeatureInfo(column, names[column], kinds[column], missing_share=0.0)
        if kinds[column] == MOLECULE:
            from dlcore.data.molecules import MoleculeSettings

            info.molecule = MoleculeSettings.from_dict(molecule).to_dict()
            info.missing_share = float((values == "").mean())
        elif kinds[column] == NUMERIC:
            numbers = values.to_numpy(dtype=np.float64)
            finite = numbers[np.isfinite(numbers)]
            info.missing_share = float(1 - len(finite) / len(numbers)) if len(numbers) else 0.0
            if len(finite):
                info.min, info.max = float(finite.min()), float(finite.max())
                info.median = float(np.median(finite))
        else:
            # A value fewer than MIN_CATEGORY_RECORDS records share gets no slot of its own (it is
            # read as unknown): the vocabulary travels in the card and the model file, and a value
            # that rare can identify a patient (a name typed into a category column).
            counts = pd.Series([str(v) for v in values]).value_counts()
            info.categories = sorted(
                c for c, k in counts.items() if k >= MIN_CATEGORY_RECORDS or c == MISSING_CATEGORY
            ) or [MISSING_CATEGORY]  # every value rare: one placeholder slot (Keras needs one)
            info.missing_share = float((values == MISSING_CATEGORY).mean())
        infos.append(info)
    return TabularLayout(
        infos,
        schema.task or "binary",
        list(schema.classes),
        schema.positive_class,
        schema.target,
        schema.time_column,
    )


def to_model_inputs(
    layout: TabularLayout, features: pd.DataFrame, *, views: bool = False
) -> dict[str, np.ndarray]:
    """Typed features (from ``feature_frame``) as the model's input dict of (n, 1) arrays.

    With ``views``, numeric columns keep their float dtype (views of the features, no copy: the
    training generator casts each batch to float32); else they are float32 arrays."""
    out = {}
    for info in layout.features:
        values = features[info.name].to_numpy()
        if info.kind == MOLECULE:
            from dlcore.data.molecules import MoleculeSettings, featurise

            settings = MoleculeSettings.from_dict(info.molecule)
            out[info.input] = featurise([str(v) if v else "" for v in values], settings)
        elif info.kind == NUMERIC:
            # no copy when the typed features are float32 already, or views are asked for
            kept = views and values.dtype.kind == "f"
            out[info.input] = np.asarray(values, dtype=None if kept else np.float32).reshape(-1, 1)
        else:
            out[info.input] = values.astype(str).reshape(-1, 1)
    return out


def layout_from_dict(data: dict[str, Any]) -> Any:
    """A layout from a model card: an ImageLayout for image models, else a TabularLayout."""
    if data.get("kind") == "image":
        from dlcore.models.layouts import ImageLayout

        return ImageLayout.from_dict(data)
    return TabularLayout.from_dict(data)


@dataclass
class ImageLayout:
    """The input of an image model (height, width, channels) with the task and the classes."""

    height: int
    width: int
    channels: int
    task: str
    classes: list[str] = field(default_factory=list)
    positive_class: str | None = None
    kind: str = "image"

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    @property
    def positive_label(self) -> str | None:
        """The positive class's name (image classes are named by their folders or --class-names)."""
        if self.positive_class is not None and str(self.positive_class).isdigit():
            return f"class {self.positive_class}"
        return self.positive_class

    @property
    def output_names(self) -> list[str]:
        if self.task == "binary":
            return [f"P({self.positive_label})"]
        return list(self.classes)

    def inputs(self, images: np.ndarray, *, views: bool = False) -> np.ndarray:
        """Images as the model takes them: float32 (n, H, W, C) raw pixel values 0–255
        (``views`` is accepted as tables' inputs take it; float32 images are not copied)."""
        return np.asarray(images, dtype=np.float32)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageLayout:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
