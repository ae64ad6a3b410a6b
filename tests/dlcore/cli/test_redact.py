"""What the command line may print: quoted cells and a training range's ends (single patients'
values) are hidden; column names, counts and aggregates stay."""

from __future__ import annotations

from dlcore.cli import session


def test_quoted_cells_and_range_ends_are_hidden_column_names_stay(monkeypatch):
    monkeypatch.setattr(session, "_columns", {"age", "ward"})
    note = (
        "'age': 79 value(s) outside the training range 18–97; predictions there are "
        "extrapolations. 'ward': value(s) not seen in training, treated as unknown: 'Doe' "
        "(known: north, south). 'age': 3 value(s) are 0, which training never had (its "
        "smallest was 1.5e-05): 0 most likely means 'not measured'."
    )
    shown = session.redact(note)
    for value in ("18", "97", "Doe", "north", "1.5e-05"):
        assert value not in shown
    assert "'age': 79 value(s) outside the training range …;" in shown
    assert "(its smallest was …)" in shown
    assert "'ward'" in shown and "known: …" in shown


def test_negative_and_scientific_range_ends_are_hidden():
    shown = session.redact("outside the training range -3.9795–4.2e+01; extrapolations")
    assert shown == "outside the training range …; extrapolations"
