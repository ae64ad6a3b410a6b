"""Cross-validation of a molecule table follows the chosen split: folds keep each Bemis–Murcko
scaffold whole under the default scaffold split, and ignore scaffolds under a random split."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")


class _Stop(Exception):
    pass


@pytest.fixture(scope="module")
def esol_200():
    from dlcore.data.dataset import Dataset
    from dlcore.data.demo import load_demo
    from dlcore.training.fit import prepare_data

    demo = load_demo("solubility")
    dataset = Dataset("esol 200", demo.frame.head(200), demo.schema)
    return dataset, prepare_data(dataset)


def _first_folds(monkeypatch, dataset, molecule_split: str) -> list:
    """The split cross_validate hands to training for its first fold, without training."""
    import dlcore.training.fit as fit
    from dlcore.models.spec import ModelSpec
    from dlcore.training.cv import cross_validate

    seen = []

    def fake_train(dataset, spec, *, split, **kwargs):
        seen.append(split)
        raise _Stop

    monkeypatch.setattr(fit, "train", fake_train)
    with pytest.raises(_Stop):
        cross_validate(dataset, ModelSpec(molecule_split=molecule_split), folds=5, repeats=1)
    return seen


def _shared_scaffolds(groups: np.ndarray, splits: list) -> int:
    return sum(
        len(set(groups[np.concatenate([s.train, s.validation])]) & set(groups[s.test]))
        for s in splits
    )


def test_scaffold_split_keeps_scaffolds_out_of_two_folds(monkeypatch, esol_200):
    dataset, data = esol_200
    splits = _first_folds(monkeypatch, dataset, "scaffold")
    assert len(splits) == 1 and 20 <= len(splits[0].test) <= 80  # whole scaffolds: uneven
    assert _shared_scaffolds(data.groups, splits) == 0


def test_random_split_folds_ignore_scaffolds(monkeypatch, esol_200):
    dataset, data = esol_200
    splits = _first_folds(monkeypatch, dataset, "random")
    # benzene rings and acyclic molecules are everywhere: a random fold shares scaffolds
    assert len(splits) == 1 and len(splits[0].test) == 40
    assert _shared_scaffolds(data.groups, splits) >= 3
