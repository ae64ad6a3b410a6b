"""Streamlit pieces for molecules (a SMILES column): the drawing grid on Data, pasted SMILES on
Predict, the atom heatmap on Explain. Each calls one dlcore function and renders its result."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui.common import guard

GRID_MOLECULES = 12


def molecule_columns_of(schema: Any) -> list[str]:
    """The feature columns of a schema that hold molecules."""
    from dlcore.data.schema import molecule_columns

    return molecule_columns(schema)


@st.cache_data(max_entries=16, show_spinner="Drawing the molecules…")
def _grid(smiles: tuple[str, ...], legends: tuple[str, ...]) -> tuple[bytes, pd.DataFrame]:
    from dlcore.data.molecules import draw_grid, molecule_counts

    return draw_grid(list(smiles), list(legends), per_row=4, size=200), molecule_counts(
        list(smiles)
    )


def show_molecules(frame: pd.DataFrame, schema: Any) -> None:
    """Data: a grid of the first molecules drawn, with heavy atoms, weight and rings."""
    for column in molecule_columns_of(schema):
        st.markdown(f"**Molecules in '{column}'**")
        with guard("Drawing the molecules"):
            values = [str(v) for v in frame[column].dropna().head(GRID_MOLECULES)]
            legends = tuple(str(i) for i in frame[column].dropna().head(GRID_MOLECULES).index)
            png, counts = _grid(tuple(values), legends)
            st.image(png, caption=f"The first {len(values)} molecules (row numbers beneath)")
            st.dataframe(counts, hide_index=True)
            st.caption(
                "SMILES are standardised before training (salts and solvents stripped, charges "
                "neutralised); a value that is not a usable molecule is left out with its row and "
                "reason. Molecules are split by Bemis–Murcko scaffold, so the test part holds "
                "chemotypes the network has not seen."
            )


@st.cache_resource(max_entries=4, show_spinner="Preparing the molecule explainer…")
def _explainer(model_id: str, checksum: str) -> Any:
    from dlcore.explain.molecules import MoleculeExplainer
    from ui import cache

    loaded = cache.loaded_model(model_id)
    return MoleculeExplainer(loaded.model, loaded.layout, loaded.background())


def molecule_explainer(model_id: str) -> Any:
    """The model's molecule explainer, built once per model version and process."""
    from ui import cache

    return _explainer(model_id, cache.model_version_key(model_id))


def _example(loaded: Any) -> str:
    background = loaded.background()
    column = loaded.layout.molecule_features[0].name
    if background is not None and len(background) and column in background.columns:
        return str(background[column].iloc[0])
    return "OC(=O)c1ccccc1O"


def predict_molecules(loaded: Any) -> None:
    """Predict: pasted SMILES (one per line) → predictions with the applicability domain."""
    from dlcore.predict import predict_with_model

    layout = loaded.layout
    column = layout.molecule_features[0].name
    if len(layout.features) > 1:
        st.info(
            "This model also takes "
            + ", ".join(f"'{f.name}'" for f in layout.features if f.name != column)
            + ": upload a file with those columns under **Many patients**.",
            icon=":material/info:",
        )
        return
    text = st.text_area(
        "SMILES, one molecule per line",
        value=_example(loaded),
        key=f"smiles_{loaded.id}",
        help="Paste one or many SMILES strings, e.g. CCO for ethanol.",
    )
    upload = st.file_uploader(
        f"…or a file with a '{column}' column (CSV, TSV, XLSX, Parquet or SDF)",
        key=f"smiles_file_{loaded.id}",
    )
    frame = None
    if upload is not None:
        with guard("Reading the file"):
            from ui import cache

            frame, _ = cache.read_upload(upload.getvalue(), upload.name)
    elif st.button("Predict for these molecules", key=f"smiles_go_{loaded.id}"):
        frame = pd.DataFrame({column: [x.strip() for x in text.splitlines() if x.strip()]})
    if frame is not None:
        with guard("Predicting for the molecules"):
            result = predict_with_model(loaded, frame)
            for note in result.notes:
                st.warning(note, icon=":material/warning:")
            shown = pd.concat(
                [frame.reset_index(drop=True), result.table.reset_index(drop=True)], axis=1
            )
            st.dataframe(shown.head(1000), hide_index=True)
            st.caption(
                "tanimoto_to_nearest: the similarity (0–1) of each molecule to the most similar "
                "training molecule; below 0.3 it is outside what the model has seen and the "
                "prediction is an extrapolation."
            )


def explain_molecule(loaded: Any, model_id: str) -> None:
    """Explain: one molecule's atom heatmap, the sentences, the groups; global substructures."""
    layout = loaded.layout
    column = layout.molecule_features[0].name
    smiles = st.text_input("Molecule (SMILES)", value=_example(loaded), key=f"mol_{model_id}")
    if len(layout.features) > 1:
        st.caption(
            "The model's other inputs are taken from the first reference record for this view."
        )
    with guard("Explaining the molecule"):
        explainer = molecule_explainer(model_id)
        record = explainer.background.head(1).copy()
        record[column] = smiles
        explanation = explainer.explain(record)[0]
        left, right = st.columns([1, 1])
        left.image(
            explanation.heatmap_png(),
            caption="Atom contributions: green raises the prediction, pink lowers it",
        )
        with right:
            for line in explanation.summary():
                st.markdown(f"- {line}")
            groups = pd.DataFrame(
                [
                    {
                        "part of the molecule": g.name,
                        "atoms": len(g.atoms),
                        "contribution": g.contribution,
                    }
                    for g in explanation.groups
                ]
            ).sort_values("contribution", key=abs, ascending=False)
            st.dataframe(groups, hide_index=True)
    title = "Substructures that matter most across the reference molecules"
    with st.expander(title), guard("Finding the substructures"):
        table = explainer.global_importance(top=8)
        cells = st.columns(4)
        for i, row in enumerate(table.itertuples()):
            direction = "raises" if row.mean_shap_when_present > 0 else "lowers"
            cells[i % 4].image(
                row.png,
                caption=f"{row.substructure}: {direction} it by {abs(row.mean_shap_when_present):.2f} "
                f"on average ({row.molecules} molecules)",
            )


def draw_molecules(record: pd.Series, layout: dict) -> None:
    """Review: the record's molecule(s) drawn beside its values (molecule models only)."""
    from dlcore.data.molecules import draw_grid

    names = [f["name"] for f in layout.get("features", []) if f.get("kind") == "molecule"]
    for name in names:
        if name in record.index and isinstance(record[name], str) and record[name].strip():
            with guard("Drawing the molecule"):
                st.image(draw_grid([record[name]], [name], per_row=1, size=300), width=300)
