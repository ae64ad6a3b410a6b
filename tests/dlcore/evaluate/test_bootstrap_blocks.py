"""The bootstrap draws its counts block by block of resamples: same answers, bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from dlcore.evaluate.bootstrap import BinaryBootstrap, bootstrap_mean, count_blocks
from dlcore.evaluate.intervals import headline_intervals


def _sample(n: int, seed: int = 0, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    return y, np.round(p, 1) if ties else p


def test_blocked_samples_equal_the_per_resample_metrics():
    y, p = _sample(120, ties=True)
    boot = BinaryBootstrap.draw(y, p, resamples=25, seed=4)
    boot.block_cells = 300  # 2 resamples per block: 13 blocks
    assert len(list(boot.blocks())) == 13
    w_pos, w_neg = boot.w_pos, boot.w_neg
    assert w_pos.shape == (25, int(y.sum())) and (w_pos.sum(axis=1) == y.sum()).all()
    samples = boot.samples(0.5)
    for b in range(25):
        yy = np.r_[np.ones(w_pos[b].sum()), np.zeros(w_neg[b].sum())]
        pp = np.r_[np.repeat(boot.scores_pos, w_pos[b]), np.repeat(boot.scores_neg, w_neg[b])]
        assert np.isclose(samples["roc_auc"][b], roc_auc_score(yy, pp))
        assert np.isclose(samples["pr_auc"][b], average_precision_score(yy, pp))
        assert np.isclose(samples["accuracy"][b], np.mean((pp >= 0.5) == yy))
        assert np.isclose(samples["sensitivity"][b], np.mean(pp[yy == 1] >= 0.5))
        assert np.isclose(samples["brier"][b], np.mean((pp - yy) ** 2))
    np.testing.assert_allclose(boot.auc_samples(), samples["roc_auc"])


def test_blocks_are_seeded_and_a_small_sample_is_one_block():
    assert [b.shape for b in count_blocks(10, 30, seed=1)] == [(30, 10)]
    many = list(count_blocks(1000, 30, seed=1, block_cells=5000))
    assert [b.shape[0] for b in many] == [5] * 6
    again = list(count_blocks(1000, 30, seed=1, block_cells=5000))
    assert all((a == b).all() for a, b in zip(many, again, strict=True))
    assert all((b.sum(axis=1) == 1000).all() for b in many)
    values = np.arange(10.0)
    interval = bootstrap_mean(values, resamples=200, seed=0)
    assert interval.value == 4.5 and interval.low < 4.5 < interval.high


def test_memory_stays_bounded_on_a_large_held_out_part():
    # 30,000 records x 300 resamples: one (resamples x records) int64 matrix alone is 72 MB
    y, p = _sample(30_000, seed=1)
    tracemalloc.start()
    try:
        intervals = headline_intervals("binary", y, p, threshold=0.5, resamples=300, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"{peak / 2**20:.0f} MB"
    auc = intervals["roc_auc"]
    assert auc.low < roc_auc_score(y, p) < auc.high and auc.high - auc.low < 0.03


def test_in_place_auc_is_bit_for_bit_the_formula():
    """Issue 15, 3rd round: the resamples' ROC AUC computed in place equals the original
    expression pos_here * (n_neg - fp + 0.5 * neg_here) exactly (ties included)."""
    for n, ties in ((60, True), (5000, True), (5000, False)):
        y, p = _sample(n, seed=n, ties=ties)
        boot = BinaryBootstrap.draw(y, p, resamples=30, seed=2)
        for w_pos, w_neg in boot.blocks():
            tp, fp = boot._cumulative(w_pos, w_neg)
            tp64, fp64 = tp.astype(np.float64), fp.astype(np.float64)
            pos_here = np.diff(tp64, axis=1, prepend=0.0)
            neg_here = np.diff(fp64, axis=1, prepend=0.0)
            n_pos, n_neg = boot.scores_pos.size, boot.scores_neg.size
            wins = (pos_here * (n_neg - fp64 + 0.5 * neg_here)).sum(axis=1)
            formula = wins / (n_pos * n_neg)
            in_place = boot._auc_from(tp, fp)
            assert np.array_equal(in_place, formula)
            assert 0.6 < float(np.median(in_place)) < 1.0


def test_point_auc_with_boolean_labels_is_the_same():
    """_auc passes its labels as booleans (issue 15): exactly scikit-learn's AUC of 0/1 floats."""
    from dlcore.evaluate.bootstrap import _auc

    y, p = _sample(3000, seed=5, ties=True)
    pos, neg = p[y == 1], p[y == 0]
    floats = roc_auc_score(np.r_[np.ones(pos.size), np.zeros(neg.size)], np.r_[pos, neg])
    assert _auc(pos, neg) == float(floats)
    assert 0.6 < _auc(pos, neg) < 1.0
