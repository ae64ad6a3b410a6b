"""Explanations a chemist reads: SHAP on the Morgan fingerprint bits, mapped to the atoms of the
molecule through each bit's atom environments, drawn as an atom heatmap and told in sentences
that name substructures ("the carboxylic acid raises the predicted solubility by 0.41").

The network sees fingerprint bits and descriptors (dlcore.data.molecules); SHAP runs on that
encoded vector (DeepExplainer on the dense core: exact for the layers dlcore builds), and a
bit's value is shared equally among the atoms of the environments that set it, so the atom
contributions sum to the SHAP total of the bits the molecule has. Bits the molecule lacks can
matter too (their absence against the background); they are reported as one figure.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.data.molecules import (
    MoleculeSettings,
    bit_environments,
    descriptor_label,
    environment_atoms,
    environment_smiles,
)
from dlcore.errors import UserError
from dlcore.models.common import CORE_MODEL
from dlcore.models.layouts import TabularLayout, to_model_inputs
from dlcore.models.tabular import ENCODER_LAYER
from dlcore.predict import check_records

logger = logging.getLogger(__name__)
_deep_lock = threading.Lock()

# Functional groups a chemist names, as SMARTS; checked in this order, an atom counted once.
FUNCTIONAL_GROUPS: list[tuple[str, str]] = [
    ("carboxylic acid", "[CX3](=O)[OX2H1]"),
    ("ester", "[#6][CX3](=O)[OX2][#6]"),
    ("amide", "[CX3](=O)[NX3]"),
    ("sulfonamide", "[SX4](=O)(=O)[NX3]"),
    ("nitro group", "[$([NX3](=O)=O),$([NX3+](=O)[O-])](~O)~O"),
    ("nitrile", "[CX2]#[NX1]"),
    ("aldehyde or ketone (carbonyl)", "[CX3]=[OX1]"),
    ("hydroxyl group", "[OX2H1][#6]"),
    ("amine", "[NX3;!$(N-[#6]=[O,S,N]);!$(N~[!#6;!#1])]"),
    ("ether", "[OD2]([#6])[#6]"),
    ("thioether or thiol", "[SX2]"),
    ("phosphate or phosphorus group", "[#15]"),
    ("fluorine", "[F]"),
    ("chlorine", "[Cl]"),
    ("bromine", "[Br]"),
    ("iodine", "[I]"),
]


@dataclass
class GroupContribution:
    """A named part of the molecule (functional group, ring, the rest) and its summed atoms."""

    name: str
    atoms: list[int]
    contribution: float


@dataclass
class MoleculeExplanation:
    """One molecule's explanation: per-atom contributions (from the fingerprint bits it has),
    the absent bits' total, descriptor and other-column contributions, and named groups.

    base_value + atoms.sum() + absent_bits + descriptors.sum() + other.sum() == output.
    """

    smiles: str
    output_name: str
    output: float
    base_value: float
    atom_contributions: np.ndarray
    present_bits: dict[int, float]
    absent_bits: float
    descriptors: pd.DataFrame  # descriptor, value, contribution
    other: pd.DataFrame  # feature, value, contribution (non-molecule columns)
    groups: list[GroupContribution] = field(default_factory=list)
    method: str = "deep"
    task: str = "regression"

    @property
    def fingerprint_total(self) -> float:
        """SHAP total of the fingerprint bits the molecule has (= atom contributions' sum)."""
        return float(sum(self.present_bits.values()))

    @property
    def additivity_error(self) -> float:
        total = (
            self.base_value
            + float(self.atom_contributions.sum())
            + self.absent_bits
            + float(self.descriptors["contribution"].sum() if len(self.descriptors) else 0.0)
            + float(self.other["contribution"].sum() if len(self.other) else 0.0)
        )
        return abs(total - self.output)

    def summary(self, top: int = 3) -> list[str]:
        """Plain sentences: the prediction against the average, the named groups that move it
        most, the descriptors that do, and what the absent substructures add."""
        what = f"predicted {self.output_name}"
        lines = [
            f"The {what} is {self.output:.2f}, against {self.base_value:.2f} on average over the "
            "reference molecules."
        ]
        ranked = sorted(self.groups, key=lambda g: -abs(g.contribution))
        for group in ranked[:top]:
            if abs(group.contribution) < 0.005:
                continue
            verb = "raises" if group.contribution > 0 else "lowers"
            lines.append(f"The {group.name} {verb} the {what} by {abs(group.contribution):.2f}.")
        if len(self.descriptors):
            d = self.descriptors.iloc[int(np.argmax(np.abs(self.descriptors["contribution"])))]
            if abs(d["contribution"]) >= 0.005:
                verb = "raises" if d["contribution"] > 0 else "lowers"
                lines.append(
                    f"Its {d['descriptor']} value ({d['value']:.3g}) {verb} it by "
                    f"{abs(d['contribution']):.2f}."
                )
        if abs(self.absent_bits) >= 0.005:
            verb = "raise" if self.absent_bits > 0 else "lower"
            lines.append(
                f"Substructures common in the training molecules but absent here {verb} it by "
                f"{abs(self.absent_bits):.2f}."
            )
        return lines

    def heatmap_png(self, size: int = 420) -> bytes:
        """The molecule drawn with its atom contributions as a heatmap (green raises the
        prediction, pink lowers it), as PNG bytes."""
        return draw_atom_heatmap(self.smiles, self.atom_contributions, size)

    def atoms(self) -> pd.DataFrame:
        """Per atom: index, element and contribution, largest magnitude first."""
        from rdkit import Chem

        mol = Chem.MolFromSmiles(self.smiles)
        frame = pd.DataFrame(
            {
                "atom": np.arange(mol.GetNumAtoms()),
                "element": [a.GetSymbol() for a in mol.GetAtoms()],
                "contribution": self.atom_contributions,
            }
        )
        order = np.argsort(-np.abs(frame["contribution"].to_numpy()), kind="stable")
        return frame.iloc[order].reset_index(drop=True)


def atom_contributions(
    smiles: str, bit_shap: np.ndarray, settings: MoleculeSettings
) -> tuple[np.ndarray, dict[int, float]]:
    """Per-atom contributions from per-bit SHAP values: each bit the molecule sets shares its
    value equally among its occurrences, each occurrence equally among its environment's atoms.

    Returns (atom contributions, {bit: SHAP} of the bits present); the first sums to the second's
    total.
    """
    mol, info = bit_environments(smiles, settings)
    atoms = np.zeros(mol.GetNumAtoms(), dtype=np.float64)
    present = {}
    for bit, environments in info.items():
        value = float(bit_shap[bit])
        present[bit] = value
        share = value / len(environments)
        for centre, radius in environments:
            members = environment_atoms(mol, centre, radius)
            atoms[members] += share / len(members)
    return atoms, present


def named_groups(smiles: str, atoms: np.ndarray) -> list[GroupContribution]:
    """The molecule's functional groups, rings and the rest, each with the sum of its atoms'
    contributions (an atom belongs to the first group that claims it)."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    claimed: set[int] = set()
    groups: list[GroupContribution] = []
    for name, smarts in FUNCTIONAL_GROUPS:
        pattern = Chem.MolFromSmarts(smarts)
        for match in mol.GetSubstructMatches(pattern):
            members = [a for a in match if a not in claimed]
            if not members:
                continue
            claimed.update(members)
            groups.append(GroupContribution(name, members, float(atoms[members].sum())))
    for ring in mol.GetRingInfo().AtomRings():
        members = [a for a in ring if a not in claimed]
        if not members:
            continue
        claimed.update(members)
        aromatic = all(mol.GetAtomWithIdx(a).GetIsAromatic() for a in ring)
        name = f"{'aromatic' if aromatic else 'aliphatic'} {len(ring)}-membered ring"
        if (
            aromatic
            and len(ring) == 6
            and all(mol.GetAtomWithIdx(a).GetSymbol() == "C" for a in ring)
        ):
            name = "benzene ring"
        groups.append(GroupContribution(name, members, float(atoms[members].sum())))
    rest = [a for a in range(mol.GetNumAtoms()) if a not in claimed]
    if rest:
        groups.append(
            GroupContribution("rest of the carbon skeleton", rest, float(atoms[rest].sum()))
        )
    return groups


def draw_atom_heatmap(smiles: str, weights: np.ndarray, size: int = 420) -> bytes:
    """PNG bytes of the molecule with per-atom weights drawn as RDKit's similarity map."""
    from rdkit import Chem
    from rdkit.Chem.Draw import SimilarityMaps, rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise UserError(
            f"'{smiles[:60]}' is not a usable molecule.",
            expected="a SMILES string such as CCO",
            fix="correct the SMILES",
        )
    weights = [float(w) for w in np.asarray(weights, dtype=np.float64)]
    drawer = rdMolDraw2D.MolDraw2DCairo(size, size)
    if mol.GetNumAtoms() < 2 or not np.any(np.abs(weights) > 0):
        drawer.DrawMolecule(mol)
    else:
        SimilarityMaps.GetSimilarityMapFromWeights(mol, weights, draw2d=drawer)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


class MoleculeExplainer:
    """SHAP for a model with a molecule input: built once per model, then per molecule."""

    def __init__(
        self,
        model: Any,
        layout: TabularLayout,
        background: pd.DataFrame,
        *,
        max_background: int = 100,
        seed: int = 0,
    ) -> None:
        """``background``: reference records (raw or typed, as training saw them, with SMILES).

        Raises UserError when the model takes no molecule or there is no background.
        """
        infos = getattr(layout, "molecule_features", [])
        if not infos:
            raise UserError(
                "This model takes no molecules.",
                expected="a model trained on a table with a SMILES column",
                fix="explain it with the tabular explainer",
            )
        if background is None or len(background) == 0:
            raise UserError(
                "There are no reference molecules to explain against.",
                expected="a background sample of training records",
                fix="retrain the model in this app",
            )
        self.model = model
        self.layout = layout
        self.info = infos[0]
        self.settings = MoleculeSettings.from_dict(self.info.molecule)
        features, _ = check_records(layout, background)
        features = features[features[self.info.name] != ""]
        if len(features) > max_background:
            features = features.sample(max_background, random_state=seed)
        self.background = features.reset_index(drop=True)
        self.method = "deep"
        self._explainer: Any = None

    def _prepare(self) -> None:
        import shap
        import tensorflow as tf

        from dlcore.explain.tabular import deep_supported
        from dlcore.models.keras_runtime import import_keras

        keras = import_keras()
        encoder_layer = self.model.get_layer(ENCODER_LAYER)
        encoder = keras.Model(self.model.inputs, encoder_layer.output)
        self._core = self.model.get_layer(CORE_MODEL)
        self._encoder = tf.function(lambda x: encoder(x, training=False), reduce_retracing=True)
        self._blocks = {name: (start, stop) for name, start, stop in encoder_layer.blocks()}
        encoded_bg = self._encode(self.background)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if deep_supported(self.model):
                self._explainer = shap.DeepExplainer(self._core, encoded_bg)
                self.method = "deep"
            else:  # approximate (additivity ~1e-2) but runs on every layer
                self._explainer = shap.GradientExplainer(self._core, encoded_bg)
                self.method = "gradient"
        outputs = np.asarray(self._core(encoded_bg, training=False), dtype=np.float64)
        self._base = outputs.mean(axis=0)

    def _encode(self, features: pd.DataFrame) -> np.ndarray:
        import tensorflow as tf

        inputs = {k: tf.constant(v) for k, v in to_model_inputs(self.layout, features).items()}
        return np.asarray(self._encoder(inputs), dtype=np.float32)

    def _shap(self, encoded: np.ndarray) -> np.ndarray:
        from tensorflow.python.eager import execute as tf_execute

        original = tf_execute.record_gradient
        with _deep_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if self.method == "deep":
                    raw = self._explainer.shap_values(encoded, check_additivity=False)
                else:
                    raw = self._explainer.shap_values(encoded)
            finally:
                # shap leaves its patch in place when the model call raises; undo it always.
                tf_execute.record_gradient = original
        raw = np.asarray(raw, dtype=np.float64)
        return raw[:, :, None] if raw.ndim == 2 else raw

    def explain(
        self, records: pd.DataFrame | str, output: int | None = None
    ) -> list[MoleculeExplanation]:
        """Explain each record (a table with the model's columns, or one SMILES for a model
        whose only input is the molecule). Raises UserError for a SMILES that cannot be read."""
        if isinstance(records, str):
            records = pd.DataFrame({self.info.name: [records]})
        features, _ = check_records(self.layout, records)
        unusable = features[self.info.name] == ""
        if unusable.any():
            raise UserError(
                f"{int(unusable.sum())} record(s) have no usable molecule in '{self.info.name}'.",
                expected="valid SMILES (see the prediction notes for each row's reason)",
                fix="correct the SMILES",
            )
        if self._explainer is None:
            self._prepare()
        encoded = self._encode(features)
        raw = self._shap(encoded)
        outputs = np.asarray(self._core(encoded, training=False), dtype=np.float64)
        base = getattr(self._explainer, "expected_value", self._base)
        base = np.atleast_1d(np.asarray(base, dtype=np.float64)).ravel()
        start, stop = self._blocks[self.info.name]
        n_bits = self.settings.n_bits
        out = []
        for i in range(len(features)):
            k = int(np.argmax(outputs[i])) if self.layout.task == "multiclass" else (output or 0)
            values = raw[i, :, k]
            bits = values[start : start + n_bits]
            smiles = str(features[self.info.name].iloc[i])
            atoms, present = atom_contributions(smiles, bits, self.settings)
            absent = float(bits.sum() - sum(present.values()))
            descriptor_values = encoded_descriptors(
                features[self.info.name].iloc[[i]], self.settings
            )
            descriptors = pd.DataFrame(
                {
                    "descriptor": [descriptor_label(d) for d in self.settings.descriptors],
                    "value": descriptor_values,
                    "contribution": values[start + n_bits : stop],
                }
            )
            other_rows = [
                {
                    "feature": name,
                    "value": features[name].iloc[i],
                    "contribution": float(values[s:e].sum()),
                }
                for name, (s, e) in self._blocks.items()
                if name != self.info.name
            ]
            other = pd.DataFrame(other_rows, columns=["feature", "value", "contribution"])
            out.append(
                MoleculeExplanation(
                    smiles=smiles,
                    output_name=self.layout.output_names[k],
                    output=float(outputs[i, k]),
                    base_value=float(base[k]),
                    atom_contributions=atoms,
                    present_bits=present,
                    absent_bits=absent,
                    descriptors=descriptors,
                    other=other,
                    groups=named_groups(smiles, atoms),
                    method=self.method,
                    task=self.layout.task,
                )
            )
        return out

    def global_importance(self, records: pd.DataFrame | None = None, top: int = 10) -> pd.DataFrame:
        """The substructures that matter most over ``records`` (default: the background): per
        top fingerprint bit, its commonest environment as SMILES, mean |SHAP|, the mean SHAP
        where present (its direction), how many molecules have it, and a drawing (PNG bytes)."""
        frame = self.background if records is None else records
        explanations = self.explain(frame)
        n_bits = self.settings.n_bits
        values = np.zeros((len(explanations), n_bits))
        for row, explanation in enumerate(explanations):
            for bit, value in explanation.present_bits.items():
                values[row, bit] = value
        mean_abs = np.abs(values).mean(axis=0)
        rows = []
        for bit in np.argsort(-mean_abs)[:top]:
            if mean_abs[bit] <= 0:
                break
            having = [i for i, e in enumerate(explanations) if int(bit) in e.present_bits]
            fragments: dict[str, int] = {}
            example = None
            for i in having:
                mol, info = bit_environments(explanations[i].smiles, self.settings)
                centre, radius = info[int(bit)][0]
                fragment = environment_smiles(mol, centre, radius)
                fragments[fragment] = fragments.get(fragment, 0) + 1
                if example is None:
                    example = (explanations[i].smiles, centre, radius)
            commonest = max(fragments, key=lambda f: fragments[f])
            rows.append(
                {
                    "substructure": commonest,
                    "mean_abs_shap": float(mean_abs[bit]),
                    "mean_shap_when_present": float(values[having, bit].mean()),
                    "molecules": len(having),
                    "other_substructures_on_this_bit": len(fragments) - 1,
                    "example": example[0] if example else "",
                    "png": draw_environment(*example) if example else b"",
                }
            )
        return pd.DataFrame(rows)


def encoded_descriptors(smiles: pd.Series, settings: MoleculeSettings) -> np.ndarray:
    """The raw descriptor values of one molecule (for the sentences)."""
    from dlcore.data.molecules import descriptors

    return descriptors([str(s) for s in smiles], settings)[0].astype(np.float64)


def draw_environment(smiles: str, centre: int, radius: int, size: int = 240) -> bytes:
    """PNG bytes of a molecule with one Morgan environment highlighted (the substructure)."""
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles)
    atoms = environment_atoms(mol, centre, radius)
    bonds = [
        b.GetIdx()
        for b in mol.GetBonds()
        if b.GetBeginAtomIdx() in atoms and b.GetEndAtomIdx() in atoms
    ]
    drawer = rdMolDraw2D.MolDraw2DCairo(size, size)
    drawer.DrawMolecule(mol, highlightAtoms=atoms, highlightBonds=bonds)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()
