"""The reviewer's queue: case lists as typed, seeded samples, and which case comes next."""

from __future__ import annotations

import pandas as pd
import pytest

from dlcore.errors import UserError
from dlcore.governance.review import (
    MAX_CASES,
    ReviewQueue,
    parse_case_list,
    sample_cases,
)


def test_case_list_keeps_the_typed_order_and_drops_repeats():
    assert parse_case_list("3, 8, 12-15") == [3, 8, 12, 13, 14, 15]
    assert parse_case_list("9; 2 4 – 6, 2") == [9, 2, 4, 5, 6]
    assert parse_case_list("") == []
    assert parse_case_list(" 7 ") == [7]


@pytest.mark.parametrize("text", ["3, eight", "5-2", f"0-{MAX_CASES}", "1.5"])
def test_case_list_refuses_words_backwards_and_long_ranges(text):
    with pytest.raises(UserError) as raised:
        parse_case_list(text)
    assert raised.value.fix


def test_sample_is_seeded_sorted_distinct_and_capped():
    first = sample_cases(100, 10, seed=3)
    assert first == sample_cases(100, 10, seed=3)
    assert first != sample_cases(100, 10, seed=4)
    assert first == sorted(set(first)) and len(first) == 10
    assert all(0 <= p < 100 for p in first)
    assert sample_cases(5, 50) == [0, 1, 2, 3, 4]


def queue(n: int, decided_positions: set[int]) -> ReviewQueue:
    cases = pd.DataFrame({"case_id": range(100, 100 + n), "position": range(n)})
    decided = {100 + p: {"agree": True} for p in decided_positions}
    undecided = [p for p in range(n) if p not in decided_positions]
    return ReviewQueue(cases, decided, undecided)


def test_after_a_decision_the_next_undecided_case_comes_first():
    q = queue(6, {1, 3})  # undecided: 0, 2, 4, 5
    assert q.first_undecided() == 0
    assert q.after_decision(2) == 4  # the next undecided after it
    assert q.after_decision(5) == 0  # none after: wrap to the first undecided
    assert q.after_decision(3) == 4  # re-deciding a decided case moves on too


def test_when_everything_is_decided_it_steps_forward_and_stops_at_the_end():
    q = queue(4, {0, 1, 2, 3})
    assert q.first_undecided() is None
    assert q.after_decision(1) == 2
    assert q.after_decision(3) == 3
    assert q.clamp(-2) == 0 and q.clamp(99) == 3
    last = queue(4, {0, 1, 2})
    assert last.after_decision(3) == 3  # the last undecided case, now decided
