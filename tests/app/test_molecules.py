"""Molecule models on the pages: Predict takes pasted SMILES and shows the applicability domain;
Explain draws the atom heatmap with sentences that name substructures."""

from __future__ import annotations

import pytest
from apptools import button, healthy, open_page, texts, widget

pytest.importorskip("rdkit")


@pytest.fixture(scope="module")
def molecule_model():
    """A tiny network on 120 ESOL molecules (two epochs), registered."""
    from dlcore.data.dataset import Dataset
    from dlcore.data.demo import load_demo
    from dlcore.models.spec import ModelSpec
    from dlcore.training.pipeline import train_and_register

    demo = load_demo("solubility")
    dataset = Dataset("esol-120", demo.frame.head(120).copy(), demo.schema, source="test")
    spec = ModelSpec(hidden_units=[8], epochs=2, fingerprint_bits=256, seed=5)
    return train_and_register(dataset, spec).record


def _on(page: str, model_id: str):
    at = open_page(page)
    healthy(widget(at.selectbox, "Model").set_value(model_id).run())
    return at


def test_predict_page_takes_pasted_smiles(molecule_model):
    at = _on("predict", molecule_model.id)
    widget(at.text_area, "SMILES").set_value("CCO\nO=S(=O)(F)C(F)(F)F\nnot-a-molecule")
    healthy(button(at, "Predict for these molecules").click().run())
    warnings = " ".join(texts(at.warning))
    assert "row 2: not valid SMILES syntax" in warnings
    assert "outside what the model has seen" in warnings
    table = at.dataframe[0].value
    assert table["SMILES"].tolist() == ["CCO", "O=S(=O)(F)C(F)(F)F", "not-a-molecule"]
    assert "tanimoto_to_nearest" in table.columns
    assert table["tanimoto_to_nearest"].iloc[1] < 0.3


def test_explain_page_draws_the_atom_heatmap(molecule_model):
    at = _on("explain", molecule_model.id)
    healthy(widget(at.text_input, "Molecule").set_value("OC(=O)c1ccccc1Cl").run())
    assert at.get("image"), "no heatmap image"
    lines = " ".join(m.value for m in at.markdown)
    assert "predicted measured log solubility" in lines
    assert any(name in lines for name in ("carboxylic acid", "chlorine", "benzene ring"))
    healthy(widget(at.text_input, "Molecule").set_value("C(C)(C)(C)(C)C").run())
    assert any("usable molecule" in e for e in texts(at.error))


def test_data_page_draws_the_solubility_molecules():
    at = open_page("data")
    box = widget(at.selectbox, "A saved dataset")
    choice = next(o for o in box.options if "solubility" in str(o).lower())
    healthy(box.select(choice).run())
    assert at.get("image"), "no molecule grid"
    counts = next(d.value for d in at.dataframe if "heavy_atoms" in d.value.columns)
    assert list(counts.columns) == ["smiles", "heavy_atoms", "weight", "rings"]
    assert len(counts) == 12 and counts["weight"].gt(0).all()
