"""Molecule models end to end on 160 ESOL molecules: raw SMILES in after save/load, atom
contributions that add up, the heatmap, named groups, the applicability domain, mixed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rdkit")

N_MOLECULES = 160


@pytest.fixture(scope="module")
def molecule_model():
    """A tiny network trained for two epochs on 160 ESOL molecules, registered and reloaded."""
    from dlcore.data.dataset import Dataset
    from dlcore.data.demo import load_demo
    from dlcore.models.spec import ModelSpec
    from dlcore.registry import load_model
    from dlcore.training.pipeline import train_and_register

    demo = load_demo("solubility")
    frame = demo.frame.head(N_MOLECULES).copy()
    frame.loc[3, "SMILES"] = "not a molecule"  # left out with its row and reason
    dataset = Dataset("esol-160", frame, demo.schema, source="test")
    spec = ModelSpec(hidden_units=[16], epochs=2, fingerprint_bits=512, seed=3)
    outcome = train_and_register(dataset, spec)
    return outcome, load_model(outcome.record.id), frame


def test_card_says_scaffold_split_and_rows_left_out(molecule_model):
    outcome, loaded, _ = molecule_model
    card = loaded.card
    assert card["split"]["method"] == "scaffold"
    assert "scaffold split (Bemis–Murcko)" in card["molecules"]["split"]
    assert card["molecules"]["columns"]["SMILES"]["n_bits"] == 512
    assert any(
        "row 3" in note and "not valid SMILES" in note for note in card["molecules"]["notes"]
    )
    assert len(outcome.result.data.y) == N_MOLECULES - 1
    assert loaded.layout.molecule_features[0].molecule["radius"] == 2
    from dlcore.report.card import model_card_markdown

    markdown = model_card_markdown(card)
    assert "## Molecules" in markdown and "Morgan fingerprints (radius 2, 512 bits)" in markdown
    assert "as log(1 + count) of each environment" in markdown
    settings = loaded.layout.molecule_features[0].molecule
    assert settings["fingerprint"] == "count" and "MolLogP" in settings["descriptors"]
    assert "Split: scaffold split (Bemis–Murcko)" in markdown
    split = outcome.result.split
    groups = outcome.result.data.groups
    assert not set(groups[split.train]) & set(groups[split.test])


def test_raw_smiles_give_identical_predictions_after_save_and_load(molecule_model):
    from dlcore.models.tabular import run_model
    from dlcore.predict import predict_with_model
    from dlcore.training.fit import rows

    outcome, loaded, frame = molecule_model
    result = outcome.result
    test = result.split.test
    before = run_model(result.model, result.layout.inputs(rows(result.data.features, test)))
    raw = frame.loc[result.data.row_index[test], ["SMILES"]]
    after = predict_with_model(loaded, raw)
    column = "predicted_measured log solubility in mols per litre"
    np.testing.assert_allclose(
        after.table[column].to_numpy(dtype=np.float64), before[:, 0], rtol=1e-5, atol=1e-5
    )
    # the training molecules themselves are in the domain, at similarity 1
    train_raw = frame.loc[result.data.row_index[result.split.train[:5]], ["SMILES"]]
    inside = predict_with_model(loaded, train_raw).table
    assert inside["tanimoto_to_nearest"].tolist() == [1.0] * 5
    assert inside["in_domain"].tolist() == [True] * 5


def test_a_dissimilar_molecule_is_flagged_outside_the_domain(molecule_model):
    from dlcore.predict import predict_with_model

    _, loaded, _ = molecule_model
    records = pd.DataFrame({"SMILES": ["O=S(=O)(F)C(F)(F)F", "[Na+].[Cl-]", "", "CCO"]})
    result = predict_with_model(loaded, records)
    table = result.table
    assert table["in_domain"].tolist()[0] is False and table["in_domain"].tolist()[3] is True
    assert table.loc[0, "tanimoto_to_nearest"] < 0.3
    assert pd.isna(table.iloc[2, 0]) and pd.isna(table.loc[2, "nearest_training_smiles"])
    assert any("outside what the model has seen" in n for n in result.notes)
    assert any("row 2: empty" in n for n in result.notes)


def test_atom_contributions_sum_to_the_fingerprint_shap_total(molecule_model):
    from dlcore.explain.molecules import MoleculeExplainer

    _, loaded, _ = molecule_model
    explainer = MoleculeExplainer(loaded.model, loaded.layout, loaded.background())
    explanation = explainer.explain("OC(=O)c1ccccc1CCO")[0]
    assert explanation.method == "deep"
    assert explanation.atom_contributions.shape == (12,)
    assert explanation.atom_contributions.sum() == pytest.approx(
        explanation.fingerprint_total, abs=1e-9
    )
    assert explanation.additivity_error < 1e-3
    names = {g.name for g in explanation.groups}
    assert {"carboxylic acid", "hydroxyl group", "benzene ring"} <= names
    assert sum(len(g.atoms) for g in explanation.groups) == 12  # every atom in one group
    summary = " ".join(explanation.summary())
    assert "predicted measured log solubility" in summary
    assert any(n in summary for n in ("carboxylic acid", "hydroxyl group", "benzene ring"))
    png = explanation.heatmap_png(200)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_global_importance_lists_substructures_not_bits(molecule_model):
    from dlcore.explain.molecules import MoleculeExplainer

    _, loaded, _ = molecule_model
    explainer = MoleculeExplainer(
        loaded.model, loaded.layout, loaded.background(), max_background=30
    )
    table = explainer.global_importance(top=4)
    assert len(table) == 4
    assert not table["substructure"].str.startswith("bit").any()
    assert (table["mean_abs_shap"].diff().dropna() <= 1e-12).all()
    assert all(png[:4] == b"\x89PNG" for png in table["png"])


def test_mixed_table_molecule_and_dose():
    from dlcore.data import infer_schema
    from dlcore.data.dataset import Dataset
    from dlcore.data.demo import load_demo
    from dlcore.explain.molecules import MoleculeExplainer
    from dlcore.models.spec import ModelSpec
    from dlcore.predict import predict
    from dlcore.training.fit import train

    demo = load_demo("solubility").frame.head(120)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "smiles": demo["SMILES"].to_numpy(),
            "dose": rng.uniform(1, 10, len(demo)),
            "route": rng.choice(["oral", "iv"], len(demo)),
        }
    )
    frame["response"] = demo.iloc[:, 2].to_numpy() + 0.3 * frame["dose"]
    schema = infer_schema(frame, target="response")
    assert schema.column("smiles").kind == "molecule"
    result = train(
        Dataset("mixed", frame, schema),
        ModelSpec(hidden_units=[8], epochs=2, fingerprint_bits=256, molecule_split="random"),
    )
    assert result.split.method == "random"
    assert [f.kind for f in result.layout.features] == ["molecule", "numeric", "categorical"]
    out = predict(result.model, result.layout, frame.head(3).drop(columns="response"))
    assert out.table.shape[0] == 3 and np.isfinite(out.output).all()
    explainer = MoleculeExplainer(result.model, result.layout, frame.head(20))
    explanation = explainer.explain(frame.head(1))[0]
    assert set(explanation.other["feature"]) == {"dose", "route"}
    assert explanation.additivity_error < 1e-3


def test_review_session_of_a_molecule_classifier_explains_per_group():
    from dlcore.data import infer_schema
    from dlcore.data.catalog import save_dataset
    from dlcore.data.dataset import Dataset
    from dlcore.data.demo import load_demo
    from dlcore.governance.review import create_review_session, review_cases
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    demo = load_demo("solubility").frame.head(150)
    frame = pd.DataFrame(
        {
            "smiles": demo["SMILES"].to_numpy(),
            "soluble": np.where(demo.iloc[:, 2].to_numpy() > -2.5, "soluble", "insoluble"),
        }
    )
    frame.loc[7, "smiles"] = "C(C)(C)(C)(C)C"  # fails sanitisation: left out of training
    dataset = Dataset("soluble-150", frame, infer_schema(frame, target="soluble"), source="test")
    dataset_id = save_dataset(dataset)
    spec = ModelSpec(hidden_units=[8], epochs=2, fingerprint_bits=256, seed=2)
    record = train_and_register(dataset, spec).record
    session_id = create_review_session(
        "molecules", record.id, dataset_id, [0, 1, 7], created_by="trainer.tom"
    )
    cases = review_cases(session_id)
    assert "predicted P(soluble)" in cases["summary"].iloc[0]
    assert "could not be read" in cases["summary"].iloc[2]


def test_explainer_for_picks_the_molecule_explainer(molecule_model):
    from dlcore.explain.dispatch import explainer_for
    from dlcore.explain.molecules import MoleculeExplainer

    _, loaded, _ = molecule_model
    explainer = explainer_for(loaded.model, loaded.layout, loaded.background())
    assert isinstance(explainer, MoleculeExplainer)
    assert explainer.settings.fingerprint == "count"
