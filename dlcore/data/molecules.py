"""Molecules as a data type: SMILES parsing with a reason per row, standardisation, Morgan
fingerprints and 2-D descriptors, Bemis–Murcko scaffolds, and the applicability domain.

RDKit is imported inside the functions that need it. A molecule column holds SMILES text; the
network never sees RDKit objects: ``featurise`` turns SMILES into a fixed-width float vector
(fingerprint bits, then descriptors) driven by ``MoleculeSettings``, which the model's layout
keeps so that predict and explain take raw SMILES.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.errors import UserError

logger = logging.getLogger(__name__)

MOLECULE = "molecule"
# A SMILES with more heavy atoms than this is refused (drug-like molecules have < 70; proteins,
# polymers and pasted garbage have thousands, and would make fingerprints and drawings slow).
MAX_HEAVY_ATOMS = 200
# Text longer than this is refused before RDKit parses it (a 200-atom SMILES is ~ 400 characters).
MAX_SMILES_CHARS = 2000
# Below this Tanimoto similarity to the nearest training molecule a prediction is flagged as
# "outside what the model has seen" (on Morgan radius-2 fingerprints, pairs under ~0.3 rarely
# share activity or properties: Maggiora et al., J. Med. Chem. 57:3186, 2014).
DOMAIN_THRESHOLD = 0.3
DETECT_SAMPLE = 50
DETECT_SHARE = 0.8
SCAFFOLD_GROUP = "Bemis–Murcko scaffold"
_SMILES_CHARS = re.compile(r"^[A-Za-z0-9@+\-\[\]()=#$%/\\.:*~]+$")

# RDKit descriptor name → what a chemist calls it. Cheap 2-D descriptors only (each < 1 ms).
DESCRIPTORS: dict[str, str] = {
    "MolWt": "molecular weight",
    "MolLogP": "logP (Crippen)",
    "MolMR": "molar refractivity",
    "TPSA": "topological polar surface area",
    "LabuteASA": "surface area (Labute)",
    "NumHDonors": "H-bond donors",
    "NumHAcceptors": "H-bond acceptors",
    "NumRotatableBonds": "rotatable bonds",
    "RingCount": "rings",
    "NumAromaticRings": "aromatic rings",
    "HeavyAtomCount": "heavy atoms",
    "NumHeteroatoms": "heteroatoms",
    "FractionCSP3": "fraction of sp3 carbons",
    "BertzCT": "complexity (Bertz)",
    "HallKierAlpha": "Hall–Kier alpha",
    "Chi1v": "connectivity index chi1v",
    "Kappa2": "shape index kappa2",
    "MinPartialCharge": "most negative partial charge (Gasteiger)",
    "MaxPartialCharge": "most positive partial charge (Gasteiger)",
    "MinAbsPartialCharge": "smallest absolute partial charge",
    "MaxAbsPartialCharge": "largest absolute partial charge",
    "ExactMolWt": "exact molecular weight",
    "HeavyAtomMolWt": "heavy-atom molecular weight",
    "NumValenceElectrons": "valence electrons",
    "NumAliphaticRings": "aliphatic rings",
    "NumSaturatedRings": "saturated rings",
    "NumAromaticCarbocycles": "aromatic carbocycles",
    "NumAromaticHeterocycles": "aromatic heterocycles",
    "qed": "drug-likeness (QED)",
    "Ipc": "information content (Ipc)",
}


def descriptor_label(name: str) -> str:
    """What a chemist calls an RDKit descriptor ('MolLogP' → 'logP (Crippen)'; 'fr_COO' →
    'fragment count COO'); other names as RDKit spells them."""
    if name in DESCRIPTORS:
        return DESCRIPTORS[name]
    if name.startswith("fr_"):
        return f"fragment count {name[3:]}"
    return name


FINGERPRINTS = ("count", "bits")
# A descriptor beyond this magnitude (RDKit's Ipc reaches 1e40 on large molecules) is capped so
# that it stays a finite float32; the model's robust scaling then clips it anyway.
DESCRIPTOR_CAP = 1e30


def all_descriptors() -> list[str]:
    """The names of every RDKit 2-D descriptor (``Descriptors.descList``), in RDKit's order."""
    from rdkit.Chem import Descriptors

    return [name for name, _ in Descriptors.descList]


@dataclass
class MoleculeSettings:
    """How a molecule column becomes numbers: Morgan fingerprint radius and length, whether it
    counts each environment ('count': log(1 + occurrences), the default) or marks presence
    ('bits'), the 2-D descriptors (default: every RDKit 2-D descriptor), whether molecules are
    standardised first, and the heavy-atom cap."""

    radius: int = 2
    n_bits: int = 2048
    descriptors: list[str] = field(default_factory=all_descriptors)
    standardise: bool = True
    max_heavy_atoms: int = MAX_HEAVY_ATOMS
    fingerprint: str = "count"

    @property
    def width(self) -> int:
        return self.n_bits + len(self.descriptors)

    def names(self) -> list[str]:
        """The name of each element of the feature vector ('bit 17', 'molecular weight', ...)."""
        return [f"bit {i}" for i in range(self.n_bits)] + [
            descriptor_label(d) for d in self.descriptors
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MoleculeSettings:
        data = dict(data or {})
        if "descriptors" in data and "fingerprint" not in data:
            data["fingerprint"] = "bits"  # a layout saved before count fingerprints
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def check_settings(settings: MoleculeSettings) -> MoleculeSettings:
    """Validate the featuriser settings; raises UserError naming the bad one."""
    if not isinstance(settings.radius, int) or not 1 <= settings.radius <= 4:
        raise UserError(
            f"The fingerprint radius is {settings.radius!r}.",
            expected="a whole number from 1 to 4 (2 is the usual ECFP4)",
            fix="set fingerprint_radius to 2",
        )
    if not isinstance(settings.n_bits, int) or not 64 <= settings.n_bits <= 8192:
        raise UserError(
            f"The fingerprint length is {settings.n_bits!r} bits.",
            expected="a whole number of bits from 64 to 8192 (2048 is usual)",
            fix="set fingerprint_bits to 2048",
        )
    if settings.fingerprint not in FINGERPRINTS:
        raise UserError(
            f"The fingerprint kind is {settings.fingerprint!r}.",
            expected="'count' (how often each environment occurs) or 'bits' (present or not)",
            fix="set the fingerprint to 'count'",
        )
    known = set(all_descriptors())
    unknown = [d for d in settings.descriptors if d not in known]
    if unknown:
        raise UserError(
            f"Unknown descriptor(s): {', '.join(unknown[:10])}.",
            expected="names of RDKit 2-D descriptors (rdkit.Chem.Descriptors.descList)",
            fix="remove them",
        )
    return settings


@dataclass
class ParseProblem:
    """A value that did not become a molecule: its row (index label), the text and why."""

    row: Any
    smiles: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": _plain(self.row), "smiles": self.smiles[:80], "reason": self.reason}


@dataclass
class ParsedMolecules:
    """The standardised SMILES per row (None where parsing failed) and the problems, row by row."""

    smiles: list[str | None]
    problems: list[ParseProblem]
    changed: int = 0  # molecules the standardiser changed (salts stripped, charges neutralised)

    @property
    def ok(self) -> np.ndarray:
        return np.array([s is not None for s in self.smiles], dtype=bool)

    def summary(self, column: str) -> str:
        """One sentence: how many parsed, how many were left out and why (first three)."""
        n = len(self.smiles)
        if not self.problems:
            text = f"'{column}': all {n} molecules parsed"
        else:
            shown = "; ".join(f"row {_plain(p.row)}: {p.reason}" for p in self.problems[:3])
            more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
            text = (
                f"'{column}': {len(self.problems)} of {n} value(s) are not usable molecules and "
                f"are left out — {shown}{more}"
            )
        if self.changed:
            text += (
                f"; {self.changed} standardised (salts or solvents stripped, charges neutralised)"
            )
        return text + "."


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _rdkit() -> Any:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")  # RDKit's own stderr messages: we give a reason per row
    return Chem


_STANDARDISERS: dict[str, Any] = {}


def _standardisers() -> tuple[Any, Any]:
    if not _STANDARDISERS:
        from rdkit.Chem.MolStandardize import rdMolStandardize

        _STANDARDISERS["fragment"] = rdMolStandardize.LargestFragmentChooser()
        _STANDARDISERS["uncharge"] = rdMolStandardize.Uncharger()
    return _STANDARDISERS["fragment"], _STANDARDISERS["uncharge"]


def to_mol(text: Any, settings: MoleculeSettings | None = None) -> tuple[Any, str]:
    """One SMILES as an RDKit molecule (standardised when the settings say so), or (None, reason).

    Reasons: empty, too long, not SMILES syntax, sanitisation failure (RDKit's message, e.g. a
    valence a metal complex breaks), more heavy atoms than the cap, standardisation failure.
    """
    settings = settings or MoleculeSettings()
    chem = _rdkit()
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None, "empty (no SMILES)"
    smiles = str(text).strip()
    if not smiles:
        return None, "empty (no SMILES)"
    if len(smiles) > MAX_SMILES_CHARS:
        return None, (
            f"{len(smiles):,} characters: longer than {MAX_SMILES_CHARS:,} "
            f"(molecules are capped at {settings.max_heavy_atoms} heavy atoms)"
        )
    mol = chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        return None, "not valid SMILES syntax"
    heavy = sum(1 for atom in mol.GetAtoms() if atom.GetAtomicNum() > 1)
    if heavy > settings.max_heavy_atoms:
        return None, f"{heavy} heavy atoms: more than the cap of {settings.max_heavy_atoms}"
    if heavy == 0:
        return None, "no heavy atoms"
    try:
        chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises several exception types; each message is the reason
        return None, f"fails sanitisation ({str(exc).strip() or type(exc).__name__})"
    if settings.standardise:
        try:
            from rdkit.Chem.MolStandardize import rdMolStandardize

            fragment, uncharge = _standardisers()
            mol = rdMolStandardize.Cleanup(mol)
            mol = fragment.choose(mol)
            mol = uncharge.uncharge(mol)
        except Exception as exc:
            return None, f"standardisation failed ({str(exc).strip() or type(exc).__name__})"
    return mol, ""


def parse_smiles(
    values: Iterable[Any],
    index: Sequence[Any] | None = None,
    settings: MoleculeSettings | None = None,
) -> ParsedMolecules:
    """Parse and standardise SMILES; every failure is kept with its row and reason, none silently.

    ``index`` gives the row labels for the problems (default 0, 1, 2, ...).
    """
    chem = _rdkit()
    values = list(values)
    labels = list(index) if index is not None else list(range(len(values)))
    out: list[str | None] = []
    problems = []
    changed = 0
    for label, value in zip(labels, values, strict=True):
        mol, reason = to_mol(value, settings)
        if mol is None:
            out.append(None)
            problems.append(ParseProblem(label, "" if value is None else str(value), reason))
            continue
        smiles = chem.MolToSmiles(mol)
        original = chem.MolFromSmiles(str(value).strip())
        if original is not None and chem.MolToSmiles(original) != smiles:
            changed += 1
        out.append(smiles)
    if problems:
        logger.info("%d of %d SMILES not usable", len(problems), len(values))
    return ParsedMolecules(out, problems, changed)


def check_molecules(
    frame: pd.DataFrame, column: str, settings: MoleculeSettings | None = None
) -> ParsedMolecules:
    """Parse a table's molecule column; raises UserError when no value is a usable molecule,
    naming three examples and why they failed."""
    parsed = parse_smiles(frame[column].tolist(), frame.index.tolist(), settings)
    if len(parsed.smiles) and not parsed.ok.any():
        examples = "; ".join(
            f"row {_plain(p.row)} {p.smiles[:40]!r}: {p.reason}" for p in parsed.problems[:3]
        )
        raise UserError(
            f"No value of column '{column}' is a usable molecule ({examples}).",
            expected="SMILES strings such as CCO (ethanol) or c1ccccc1O (phenol)",
            fix="choose the column that holds SMILES, or correct the values",
        )
    return parsed


def looks_like_smiles(values: pd.Series) -> bool:
    """Whether a text column holds molecules: ≥ 80% of a sample of its distinct values (≥ 10 of
    them, written in SMILES characters) parse. Cheap: RDKit only sees columns that pass the
    character check, and at most 50 values."""
    distinct = pd.Series(values).dropna().astype(str).str.strip().unique()
    distinct = [v for v in distinct if v]
    if len(distinct) < 10:
        return False
    rng = np.random.default_rng(0)
    sample = (
        list(rng.choice(np.asarray(distinct, dtype=object), DETECT_SAMPLE, replace=False))
        if len(distinct) > DETECT_SAMPLE
        else distinct
    )
    shaped = [v for v in sample if _SMILES_CHARS.match(v)]
    if len(shaped) < DETECT_SHARE * len(sample):
        return False
    chem = _rdkit()
    parsed = sum(
        1 for v in shaped if len(v) <= MAX_SMILES_CHARS and chem.MolFromSmiles(v) is not None
    )
    return parsed >= DETECT_SHARE * len(sample)


def find_molecule_columns(frame: pd.DataFrame) -> list[str]:
    """Text columns of ``frame`` whose values are SMILES (see ``looks_like_smiles``)."""
    out = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if looks_like_smiles(series):
            out.append(str(column))
    return out


# -- featurisation --------------------------------------------------------------------------------


def _generator(settings: MoleculeSettings) -> Any:
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=settings.radius, fpSize=settings.n_bits)


def fingerprints(smiles: Sequence[str | None], settings: MoleculeSettings) -> np.ndarray:
    """Morgan fingerprint bits (n, n_bits) uint8 of standardised SMILES; zeros where None."""
    chem = _rdkit()
    generator = _generator(settings)
    out = np.zeros((len(smiles), settings.n_bits), dtype=np.uint8)
    for i, text in enumerate(smiles):
        mol = chem.MolFromSmiles(text) if text else None
        if mol is not None:
            out[i] = generator.GetFingerprintAsNumPy(mol)
    return out


def count_fingerprints(smiles: Sequence[str | None], settings: MoleculeSettings) -> np.ndarray:
    """Morgan count fingerprints (n, n_bits) float32: how often each hashed environment occurs
    (the same environments as the bits); zeros where None."""
    chem = _rdkit()
    generator = _generator(settings)
    out = np.zeros((len(smiles), settings.n_bits), dtype=np.float32)
    for i, text in enumerate(smiles):
        mol = chem.MolFromSmiles(text) if text else None
        if mol is not None:
            out[i] = generator.GetCountFingerprintAsNumPy(mol)
    return out


# The descriptors of the molecules seen last, by descriptor list and SMILES: one training reads
# the same molecules about five times (each ensemble member's encoder statistics, the splits, the
# baselines) and the 217 RDKit descriptors are most of featurising (ESOL's 1,128 molecules:
# ~10 s each time). Bounded: at most this many molecules (~17 MB at 217 descriptors).
DESCRIPTOR_CACHE_ROWS = 20_000
_descriptor_cache: OrderedDict[tuple[tuple[str, ...], str], np.ndarray] = OrderedDict()
_descriptor_lock = threading.Lock()


def descriptors(smiles: Sequence[str | None], settings: MoleculeSettings) -> np.ndarray:
    """RDKit 2-D descriptors (n, len(settings.descriptors)) float32; NaN where a molecule is None,
    a descriptor fails or this RDKit lacks it; magnitudes capped at ``DESCRIPTOR_CAP``.

    Molecules seen recently with the same descriptor list are read from a bounded cache."""
    from rdkit.Chem import Descriptors

    chem = _rdkit()
    names = tuple(settings.descriptors)
    known = dict(Descriptors.descList)
    functions = [known.get(name) for name in names]
    out = np.full((len(smiles), len(functions)), np.nan, dtype=np.float32)
    computed: dict[str, np.ndarray] = {}
    for i, text in enumerate(smiles):
        if not text:
            continue
        with _descriptor_lock:
            row = _descriptor_cache.get((names, text))
            if row is not None:
                _descriptor_cache.move_to_end((names, text))
        if row is None:
            row = computed.get(text)
        if row is None:
            mol = chem.MolFromSmiles(text)
            if mol is None:
                continue
            values = np.full(len(functions), np.nan, dtype=np.float64)
            for j, function in enumerate(functions):
                if function is None:
                    continue
                try:
                    values[j] = float(function(mol))
                except Exception:  # a descriptor that fails on one molecule: missing, filled later
                    continue
            with np.errstate(invalid="ignore"):
                row = np.clip(values, -DESCRIPTOR_CAP, DESCRIPTOR_CAP).astype(np.float32)
            computed[text] = row
        out[i] = row
    if computed:
        with _descriptor_lock:
            for text, row in computed.items():
                _descriptor_cache[(names, text)] = row
                _descriptor_cache.move_to_end((names, text))
            while len(_descriptor_cache) > DESCRIPTOR_CACHE_ROWS:
                _descriptor_cache.popitem(last=False)
    return out


def featurise(smiles: Sequence[str | None], settings: MoleculeSettings) -> np.ndarray:
    """The network's molecule input: the fingerprint (log(1 + count) per environment, or 0/1
    bits) then the descriptors, (n, width) float32.

    Rows whose SMILES is None or empty are all NaN (the caller leaves them out or flags them).
    """
    if settings.fingerprint == "bits":
        bits = fingerprints(smiles, settings).astype(np.float32)
    else:
        bits = np.log1p(count_fingerprints(smiles, settings))
    values = descriptors(smiles, settings)
    out = np.concatenate([bits, values], axis=1)
    missing = np.array([not s for s in smiles], dtype=bool)
    out[missing] = np.nan
    return out


# Scaled descriptors (in the model and for the baselines) are clipped to ± this many (robust) standard deviations.
DESCRIPTOR_CLIP = 5.0


def robust_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the median and the interquartile range / 1.349 (a standard deviation for
    normal data, unmoved by outliers), the standard deviation where the quartiles coincide,
    and 1 where a column is constant; missing values ignored."""
    width = values.shape[1]
    finite = np.where(np.isfinite(values), values, np.nan)
    if not len(finite):
        return np.zeros(width), np.ones(width)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column
        centre = np.nan_to_num(np.nanmedian(finite, axis=0))
        low, high = np.nanpercentile(finite, [25, 75], axis=0)
        std = np.nan_to_num(np.nanstd(finite, axis=0))
    spread = np.nan_to_num(high - low) / 1.349
    scale = np.where(spread > 1e-9, spread, np.where(std > 1e-9, std, 1.0))
    return centre, scale


def bit_environments(
    smiles: str, settings: MoleculeSettings
) -> tuple[Any, dict[int, list[tuple[int, int]]]]:
    """A molecule and, for each fingerprint bit it sets, the (centre atom, radius) environments."""
    from rdkit.Chem import rdFingerprintGenerator

    chem = _rdkit()
    mol = chem.MolFromSmiles(smiles)
    if mol is None:
        raise UserError(
            f"'{smiles[:60]}' is not a usable molecule.",
            expected="a SMILES string such as CCO",
            fix="correct the SMILES",
        )
    generator = _generator(settings)
    extra = rdFingerprintGenerator.AdditionalOutput()
    extra.AllocateBitInfoMap()
    generator.GetFingerprintAsNumPy(mol, additionalOutput=extra)
    info = {int(k): [(int(a), int(r)) for a, r in v] for k, v in extra.GetBitInfoMap().items()}
    return mol, info


def environment_atoms(mol: Any, centre: int, radius: int) -> list[int]:
    """The atoms of a Morgan environment: the centre and every atom within ``radius`` bonds."""
    chem = _rdkit()
    if radius == 0:
        return [centre]
    bonds = chem.FindAtomEnvironmentOfRadiusN(mol, radius, centre)
    atoms = {centre}
    for b in bonds:
        bond = mol.GetBondWithIdx(b)
        atoms.update((bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()))
    return sorted(atoms)


def environment_smiles(mol: Any, centre: int, radius: int) -> str:
    """The substructure of a Morgan environment as SMILES (the centre atom alone for radius 0)."""
    chem = _rdkit()
    if radius == 0:
        atom = mol.GetAtomWithIdx(centre)
        kind = "aromatic" if atom.GetIsAromatic() else "aliphatic"
        return f"{kind} {atom.GetSymbol()} atom with {atom.GetDegree()} neighbour(s)"
    bonds = list(chem.FindAtomEnvironmentOfRadiusN(mol, radius, centre))
    if not bonds:
        return environment_smiles(mol, centre, 0)
    return chem.MolFragmentToSmiles(
        mol, atomsToUse=environment_atoms(mol, centre, radius), bondsToUse=bonds, canonical=True
    )


# -- scaffolds and the applicability domain ---------------------------------------------------------


def scaffolds(smiles: Sequence[str | None]) -> np.ndarray:
    """The Bemis–Murcko scaffold of each molecule as SMILES ('' for acyclic molecules; the row's
    own SMILES where it does not parse, so it stands alone)."""
    from rdkit.Chem.Scaffolds import MurckoScaffold

    chem = _rdkit()
    out = []
    for i, text in enumerate(smiles):
        mol = chem.MolFromSmiles(text) if text else None
        if mol is None:
            out.append(f"\x00row{i}")
            continue
        try:
            out.append(MurckoScaffold.MurckoScaffoldSmiles(mol=mol))
        except Exception:
            out.append(f"\x00row{i}")
    return np.array(out, dtype=object)


@dataclass
class DomainCheck:
    """Per molecule: the nearest training molecule, its Tanimoto similarity, and whether it is
    below the threshold ('outside what the model has seen')."""

    nearest: list[str | None]
    similarity: np.ndarray
    threshold: float = DOMAIN_THRESHOLD

    @property
    def outside(self) -> np.ndarray:
        return self.similarity < self.threshold

    def table(self, index: Any = None) -> pd.DataFrame:
        """Columns for a prediction table: nearest_training_smiles, tanimoto_to_nearest, in_domain."""
        return pd.DataFrame(
            {
                "nearest_training_smiles": self.nearest,
                "tanimoto_to_nearest": np.round(self.similarity, 3),
                "in_domain": [
                    None if n is None else bool(inside)
                    for n, inside in zip(self.nearest, ~self.outside, strict=True)
                ],
            },
            index=index,
        )

    def note(self) -> str | None:
        """A warning sentence when any molecule is outside the domain, else None."""
        n = int(np.sum(self.outside))
        if not n:
            return None
        return (
            f"{n} molecule(s) are outside what the model has seen: their nearest training molecule "
            f"has a Tanimoto similarity below {self.threshold:g}; treat those predictions as "
            "extrapolations."
        )


def tanimoto(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Tanimoto similarity of each query fingerprint to each reference one: (n_query, n_ref)."""
    q = query.astype(np.float32)
    r = reference.astype(np.float32)
    common = q @ r.T
    union = q.sum(axis=1, keepdims=True) + r.sum(axis=1)[None, :] - common
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(union > 0, common / union, 0.0)
    return out


def domain_check(
    smiles: Sequence[str | None],
    training_smiles: Sequence[str],
    training_bits: np.ndarray,
    settings: MoleculeSettings,
    threshold: float = DOMAIN_THRESHOLD,
) -> DomainCheck:
    """Each molecule's nearest training molecule by Tanimoto similarity on the model's own Morgan
    fingerprints; unusable molecules get similarity 0 and no neighbour."""
    query = fingerprints(smiles, settings)
    nearest: list[str | None] = []
    best = np.zeros(len(smiles), dtype=np.float64)
    for start in range(0, len(smiles), 512):
        sims = tanimoto(query[start : start + 512], training_bits)
        for k, row in enumerate(sims):
            i = start + k
            if not smiles[i] or not len(row):
                nearest.append(None)
                continue
            j = int(np.argmax(row))
            best[i] = float(row[j])
            nearest.append(str(training_smiles[j]))
    return DomainCheck(nearest, best, threshold)


def pack_training(smiles: Sequence[str], settings: MoleculeSettings) -> dict[str, np.ndarray]:
    """What a model keeps for its applicability domain: training SMILES and packed fingerprints."""
    bits = fingerprints(list(smiles), settings)
    return {
        "smiles": np.asarray(list(smiles), dtype=str),
        "bits": np.packbits(bits, axis=1),
        "n_bits": np.asarray([settings.n_bits]),
    }


def unpack_training(data: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Training SMILES and fingerprint bits (n, n_bits) from ``pack_training``'s arrays."""
    n_bits = int(np.asarray(data["n_bits"]).ravel()[0])
    bits = np.unpackbits(np.asarray(data["bits"], dtype=np.uint8), axis=1)[:, :n_bits]
    return [str(s) for s in data["smiles"]], bits


# -- what Data shows ----------------------------------------------------------------------------


def molecule_counts(smiles: Sequence[str | None]) -> pd.DataFrame:
    """Per molecule: heavy atoms, molecular weight and rings (NaN where it does not parse)."""
    from rdkit.Chem import Descriptors, rdMolDescriptors

    chem = _rdkit()
    rows = []
    for text in smiles:
        mol = chem.MolFromSmiles(text) if text else None
        if mol is None:
            rows.append({"smiles": text, "heavy_atoms": np.nan, "weight": np.nan, "rings": np.nan})
            continue
        rows.append(
            {
                "smiles": text,
                "heavy_atoms": mol.GetNumHeavyAtoms(),
                "weight": round(float(Descriptors.MolWt(mol)), 2),
                "rings": rdMolDescriptors.CalcNumRings(mol),
            }
        )
    return pd.DataFrame(rows)


def draw_grid(
    smiles: Sequence[str], legends: Sequence[str] | None = None, per_row: int = 4, size: int = 220
) -> bytes:
    """A PNG grid of molecule drawings (at most 24; unparsable SMILES are skipped)."""
    from rdkit.Chem import Draw

    chem = _rdkit()
    mols, labels = [], []
    for i, text in enumerate(list(smiles)[:24]):
        mol = chem.MolFromSmiles(text) if text else None
        if mol is not None:
            mols.append(mol)
            labels.append(str(legends[i]) if legends is not None else "")
    if not mols:
        raise UserError(
            "There is no molecule to draw.",
            expected="at least one valid SMILES",
            fix="check the molecule column",
        )
    image = Draw.MolsToGridImage(
        mols, molsPerRow=per_row, subImgSize=(size, size), legends=labels, returnPNG=True
    )
    return image if isinstance(image, bytes) else _png_bytes(image)


def _png_bytes(image: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def expand_molecules(
    layout: Any,
    features: pd.DataFrame,
    kinds: dict[str, str],
    scale_rows: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Typed features with each molecule column replaced by its numeric fingerprint and
    descriptors (for scikit-learn baselines fitted on what the network sees). With
    ``scale_rows`` (positions of the records a baseline is fitted on) the descriptors are scaled
    and clipped as the network's encoder does, from those records (a linear baseline is
    otherwise at the mercy of descriptors such as Ipc, which reaches 1e12)."""
    frames, out_kinds = [], {}
    infos = {f.name: f for f in getattr(layout, "molecule_features", [])}
    for column in features.columns:
        if column in infos:
            settings = MoleculeSettings.from_dict(infos[column].molecule)
            names = [f"{column}: {n}" for n in settings.names()]
            matrix = featurise([str(s) for s in features[column]], settings)
            if scale_rows is not None:
                tail = matrix[:, settings.n_bits :].astype(np.float64)
                centre, scale = robust_scale(tail[scale_rows])
                scaled = np.clip((tail - centre) / scale, -DESCRIPTOR_CLIP, DESCRIPTOR_CLIP)
                matrix[:, settings.n_bits :] = scaled.astype(np.float32)  # NaN stays missing
            frames.append(pd.DataFrame(matrix, columns=names, index=features.index))
            out_kinds.update(dict.fromkeys(names, "numeric"))
        else:
            frames.append(features[[column]])
            out_kinds[column] = kinds[column]
    return pd.concat(frames, axis=1), out_kinds


def read_sdf(
    data: bytes, name: str, max_rows: int, max_columns: int
) -> tuple[pd.DataFrame, list[str]]:
    """An SD file as a table: one row per record, its title as 'name', its structure as
    'smiles' and each property as a column. Records RDKit cannot read keep their row with an
    empty SMILES and a warning (the molecule column then names the reason). Raises UserError past
    ``max_rows`` records or ``max_columns`` properties, before reading further."""
    import io

    chem = _rdkit()
    supplier = chem.ForwardSDMolSupplier(io.BytesIO(data), sanitize=False, removeHs=False)
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    columns: set[str] = set()
    for i, mol in enumerate(supplier):
        if i >= max_rows:
            raise UserError(
                f"'{name}' has more than {max_rows:,} records (reading stopped there).",
                expected=f"at most {max_rows:,} molecules",
                fix="use a sample of the records, or raise DLCORE_MAX_ROWS",
            )
        if mol is None:
            rows.append({"smiles": ""})
            warnings.append(f"record {i + 1} of '{name}' could not be read as a molecule")
            continue
        row: dict[str, Any] = {"name": mol.GetProp("_Name") if mol.HasProp("_Name") else ""}
        if mol.GetNumAtoms() > 5 * MAX_HEAVY_ATOMS:
            row["smiles"] = ""
            warnings.append(
                f"record {i + 1} of '{name}' has {mol.GetNumAtoms():,} atoms: more than "
                f"{MAX_HEAVY_ATOMS} heavy atoms, left without a structure"
            )
        else:
            # a failure is left to the molecule column's parser, which names it per row
            with contextlib.suppress(Exception):
                chem.SanitizeMol(mol)
            row["smiles"] = chem.MolToSmiles(chem.RemoveHs(mol, sanitize=False))
        for key in mol.GetPropNames():
            row[str(key)] = mol.GetProp(key)
        columns.update(row)
        if len(columns) > max_columns:
            raise UserError(
                f"'{name}' has more than {max_columns:,} properties.",
                expected=f"at most {max_columns:,} columns",
                fix="keep the properties that matter, or raise DLCORE_MAX_COLUMNS",
            )
        rows.append(row)
    if not rows:
        raise UserError(
            f"'{name}' holds no SD records.",
            expected="an SD file: molecule blocks each ending with a line '$$$$'",
            fix="export the molecules again as SDF, or as a CSV with a SMILES column",
        )
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if column in ("name", "smiles"):
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers.notna().sum() == frame[column].notna().sum():
            frame[column] = numbers
        else:
            frame[column] = frame[column].astype("str")
    frame["name"] = frame["name"].astype("str") if "name" in frame else ""
    frame["smiles"] = frame["smiles"].astype("str")
    return frame, warnings
