"""Molecules as a data type: parsing with a reason per row, standardisation, detection, the
scaffold split, featurisation that travels with the model, and the applicability domain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.data.molecules import (
    MAX_HEAVY_ATOMS,
    MoleculeSettings,
    check_molecules,
    domain_check,
    featurise,
    looks_like_smiles,
    pack_training,
    parse_smiles,
    scaffolds,
    unpack_training,
)
from dlcore.errors import UserError

pytest.importorskip("rdkit")


@pytest.fixture(scope="module")
def solubility():
    from dlcore.data.demo import load_demo

    return load_demo("solubility")


def test_bad_smiles_each_get_a_row_and_a_reason():
    values = [
        "CCO",
        "",
        None,
        "this is not chemistry",
        "C" * 10_000,  # a 10,000-atom SMILES
        "C" * 300,  # under the character cap, over the heavy-atom cap
        "C(C)(C)(C)(C)C",  # pentavalent carbon: sanitisation fails
        "[Co](N)(N)(N)(N)(N)(N)(N)(N)(N)",  # metal complex: parses and sanitises
        "Cl[Pt](Cl)(Cl)(Cl)(Cl)(Cl)(Cl)(Cl)(Cl)(Cl)(Cl)",
    ]
    parsed = parse_smiles(values, index=[10, 11, 12, 13, 14, 15, 16, 17, 18])
    reasons = {p.row: p.reason for p in parsed.problems}
    assert parsed.smiles[0] == "CCO"
    assert reasons[11].startswith("empty") and reasons[12].startswith("empty")
    assert reasons[13] == "not valid SMILES syntax"
    assert "longer than 2,000" in reasons[14]
    assert f"more than the cap of {MAX_HEAVY_ATOMS}" in reasons[15] and "300" in reasons[15]
    assert reasons[16].startswith("fails sanitisation") and "valence" in reasons[16].lower()
    assert 10 not in reasons
    assert parsed.ok.tolist()[:4] == [True, False, False, False]
    assert "row 11" in parsed.summary("smiles")


def test_standardisation_strips_salts_and_neutralises():
    parsed = parse_smiles(["CC(=O)[O-].[Na+]", "c1ccccc1C(=O)O.O", "C[NH3+].[Cl-]"])
    assert parsed.smiles == ["CC(=O)O", "O=C(O)c1ccccc1", "CN"]
    assert parsed.changed == 3
    assert not parsed.problems


def test_a_column_where_nothing_parses_names_three_examples():
    frame = pd.DataFrame({"smiles": ["xx1", "not", "???", "zz"]})
    with pytest.raises(UserError) as caught:
        check_molecules(frame, "smiles")
    message = str(caught.value)
    assert "row 0" in message and "row 1" in message and "row 2" in message
    assert "row 3" not in message


def test_smiles_columns_are_recognised_and_words_are_not(solubility):
    assert looks_like_smiles(solubility.frame["SMILES"])
    assert solubility.schema.column("SMILES").kind == "molecule"
    assert solubility.schema.column("SMILES").role == "feature"
    assert "ESOL" not in solubility.frame.columns  # ESOL's own estimate would leak the target
    words = pd.Series([f"patient note number {i}" for i in range(40)])
    assert not looks_like_smiles(words)
    codes = pd.Series(["CO", "NC", "CA", "NY", "TX"] * 4)  # too few distinct values to judge
    assert not looks_like_smiles(codes)


def test_set_molecule_column_by_hand():
    from dlcore.data.schema import infer_schema, set_molecule_column

    frame = pd.DataFrame({"mol": ["CCO", "CCN", "c1ccccc1"] * 4, "y": np.arange(12.0)})
    schema = infer_schema(frame, target="y")
    assert schema.column("mol").kind != "molecule"  # three distinct values: not detected
    set_molecule_column(schema, frame, "mol")
    assert schema.column("mol").kind == "molecule" and schema.column("mol").role == "feature"


def test_featurise_is_bits_then_descriptors():
    settings = MoleculeSettings(radius=2, n_bits=256, fingerprint="bits")
    matrix = featurise(["CCO", "", "c1ccccc1O"], settings)
    assert matrix.shape == (3, settings.width)
    assert set(np.unique(matrix[0, :256])) <= {0.0, 1.0} and matrix[0, :256].sum() > 0
    assert np.isnan(matrix[1]).all()
    weights = matrix[:, 256 + settings.descriptors.index("MolWt")]
    assert weights[0] == pytest.approx(46.07, abs=0.01)
    assert weights[2] == pytest.approx(94.11, abs=0.01)


def test_default_featurisation_counts_environments_and_reads_every_descriptor():
    from rdkit.Chem import Descriptors

    settings = MoleculeSettings(n_bits=256)
    assert settings.fingerprint == "count"
    assert settings.descriptors == [name for name, _ in Descriptors.descList]
    assert {"MolLogP", "TPSA", "fr_COO"} <= set(settings.descriptors)
    names = settings.names()
    assert len(set(names)) == len(names) == settings.width  # column names for the baselines
    assert {"logP (Crippen)", "fragment count COO", "drug-likeness (QED)"} <= set(names)
    # decane: its CH2 environments occur several times, so a count beats a bit
    bits = featurise(["CCCCCCCCCC"], MoleculeSettings(n_bits=256, fingerprint="bits"))[0, :256]
    counts = featurise(["CCCCCCCCCC"], settings)[0, :256]
    assert np.array_equal(counts > 0, bits > 0)  # the same environments set
    # the 8 CH2 centres of radius 0 share one environment (at least that count in its bit)
    assert counts.max() >= np.log1p(8.0) - 1e-6 and set(np.unique(bits)) == {0.0, 1.0}
    assert np.isfinite(featurise(["CCCCCCCCCC"], settings)).all()  # Ipc capped, finite
    # a layout saved before count fingerprints keeps reading bits
    old = MoleculeSettings.from_dict({"radius": 2, "n_bits": 256, "descriptors": ["MolWt"]})
    assert old.fingerprint == "bits" and old.width == 257
    assert MoleculeSettings.from_dict({"radius": 2, "n_bits": 256}).fingerprint == "count"


def test_scaffold_split_keeps_each_scaffold_in_one_part(solubility):
    from dlcore.data.dataset import Dataset
    from dlcore.models.spec import ModelSpec
    from dlcore.training.fit import prepare_data, split_records

    frame = solubility.frame.head(400)
    data = prepare_data(Dataset("esol 400", frame, solubility.schema))
    assert data.group_name == "Bemis–Murcko scaffold"
    split = split_records(
        data.y, "regression", ModelSpec(), data.groups, data.group_name, "scaffold"
    )
    assert split.method == "scaffold"
    parts = [set(data.groups[p]) for p in (split.train, split.validation, split.test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    assert sum(split.sizes().values()) == len(data.y) == 400
    assert 0.15 <= len(split.test) / len(data.y) <= 0.25
    assert "" in parts[0]  # acyclic molecules (the largest scaffold group) are trained on
    again = split_records(
        data.y, "regression", ModelSpec(), data.groups, data.group_name, "scaffold"
    )
    assert np.array_equal(split.test, again.test)  # seeded
    other = split_records(
        data.y, "regression", ModelSpec(seed=7), data.groups, data.group_name, "scaffold"
    )
    assert not np.array_equal(split.test, other.test)


def test_scaffolds_of_known_molecules():
    assert scaffolds(["CCO", "Cc1ccccc1", "OC(=O)C1CCCCC1", None]).tolist() == [
        "",
        "c1ccccc1",
        "C1CCCCC1",
        "\x00row3",
    ]


def test_domain_check_flags_dissimilar_molecules():
    settings = MoleculeSettings(n_bits=1024)
    training = ["c1ccccc1O", "c1ccccc1N", "Cc1ccccc1O", "CCCCCCO", "CCCCCCN"]
    packed = pack_training(training, settings)
    smiles, bits = unpack_training(packed)
    assert smiles == training and bits.shape == (5, 1024)
    check = domain_check(
        ["Cc1ccccc1O", "CCCCCCCO", "O=S(=O)(F)C(F)(F)F", ""], smiles, bits, settings
    )
    assert check.nearest[0] == "Cc1ccccc1O" and check.similarity[0] == pytest.approx(1.0)
    assert check.nearest[1] == "CCCCCCO" and check.similarity[1] > 0.3
    assert check.similarity[2] < 0.3 and check.outside.tolist() == [False, False, True, True]
    assert check.nearest[3] is None
    assert "2 molecule(s) are outside" in check.note()


def test_sdf_files_are_tables_of_molecules(tmp_path):
    from rdkit import Chem

    from dlcore.data import read_table

    path = tmp_path / "set.sdf"
    writer = Chem.SDWriter(str(path))
    for i, (smiles, value) in enumerate([("CCO", -0.77), ("c1ccccc1O", 0.0), ("CC(=O)O", 1.2)]):
        mol = Chem.MolFromSmiles(smiles)
        mol.SetProp("_Name", f"compound {i}")
        mol.SetProp("logS", str(value))
        mol.SetProp("vendor", "acme")
        writer.write(mol)
    writer.close()
    with path.open("a") as handle:
        handle.write("not a molfile\n$$$$\n")
    table = read_table(path)
    frame = table.frame
    assert table.file_format == "sdf"
    assert frame["smiles"].tolist()[:3] == ["CCO", "Oc1ccccc1", "CC(=O)O"]
    assert frame["logS"].tolist()[:3] == [-0.77, 0.0, 1.2]
    assert frame["name"].tolist()[:3] == ["compound 0", "compound 1", "compound 2"]
    assert len(frame) == 4 and "record 4" in table.warnings[0]
    parsed = parse_smiles(frame["smiles"].tolist())
    assert [p.row for p in parsed.problems] == [3]

    from dlcore.data.molecules import read_sdf

    with pytest.raises(UserError, match="more than 2 records"):
        read_sdf(path.read_bytes(), "set.sdf", max_rows=2, max_columns=100)
    with pytest.raises(UserError, match="more than 3 properties"):
        read_sdf(path.read_bytes(), "set.sdf", max_rows=100, max_columns=3)


def test_expand_molecules_scales_descriptors_as_the_encoder_for_baselines():
    from dlcore.data.molecules import DESCRIPTOR_CLIP, expand_molecules
    from dlcore.models.layouts import FeatureInfo, TabularLayout

    settings = MoleculeSettings(n_bits=64)
    layout = TabularLayout(
        [FeatureInfo("smiles", "smiles", "molecule", molecule=settings.to_dict())], "regression"
    )
    smiles = ["CCO", "CCCO", "c1ccccc1O", "CC(=O)O", "CCN", "c1ccc2ccccc2c1", "C" * 60]
    features = pd.DataFrame({"smiles": smiles})
    raw, kinds = expand_molecules(layout, features, {"smiles": "molecule"})
    scaled, _ = expand_molecules(layout, features, {"smiles": "molecule"}, np.arange(6))
    assert raw.shape == scaled.shape == (7, settings.width) and set(kinds.values()) == {"numeric"}
    ipc = "smiles: information content (Ipc)"
    assert raw[ipc].max() > 1e6  # C60 chain: an extreme raw value
    assert scaled[ipc].iloc[6] == pytest.approx(DESCRIPTOR_CLIP)  # clipped as the encoder does
    assert np.nanmax(np.abs(scaled.iloc[:, 64:].to_numpy())) <= DESCRIPTOR_CLIP
    weight = scaled["smiles: molecular weight"].iloc[:6]
    assert np.median(weight) == pytest.approx(0.0, abs=1e-6)  # centred on the fitted rows
    assert np.array_equal(raw.iloc[:, :64].to_numpy(), scaled.iloc[:, :64].to_numpy())


def test_descriptors_are_cached_per_molecule_and_bounded(monkeypatch):
    from dlcore.data import molecules

    settings = MoleculeSettings(descriptors=["MolWt", "qed", "Ipc"])
    smiles = ["CCO", "c1ccccc1O", "CCO", "", "not chemistry", "OC(=O)c1ccccc1Cl"]
    molecules._descriptor_cache.clear()
    first = molecules.descriptors(smiles, settings)
    assert first.dtype == np.float32 and first.shape == (6, 3)
    assert first[0, 0] == pytest.approx(46.07, abs=0.01)  # ethanol's molecular weight
    assert np.array_equal(first[0], first[2])
    assert np.isnan(first[3]).all() and np.isnan(first[4]).all()
    assert len(molecules._descriptor_cache) == 3  # each valid molecule computed and kept once

    calls = []
    real = molecules._rdkit

    def counting():
        chem = real()

        class Counting:
            def __getattr__(self, name):
                return getattr(chem, name)

            @staticmethod
            def MolFromSmiles(text):
                calls.append(text)
                return chem.MolFromSmiles(text)

        return Counting()

    monkeypatch.setattr(molecules, "_rdkit", counting)
    again = molecules.descriptors(smiles, settings)
    np.testing.assert_array_equal(again, first)
    assert calls == ["not chemistry"]  # the valid molecules came from the cache
    again[0] = 0.0  # the caller's copy, not the cache's
    np.testing.assert_array_equal(molecules.descriptors(["CCO"], settings)[0], first[0])
    # another descriptor list is another key
    assert molecules.descriptors(["CCO"], MoleculeSettings(descriptors=["MolWt"])).shape == (1, 1)

    monkeypatch.setattr(molecules, "DESCRIPTOR_CACHE_ROWS", 2)
    molecules.descriptors(["C", "CC", "CCC", "CCCC"], settings)
    assert len(molecules._descriptor_cache) == 2
    assert ((tuple(settings.descriptors), "CCCC")) in molecules._descriptor_cache
