"""The Data page shows and acts on the newest upload (issue 14 #1): a new file replaces whatever
the page showed and sets the toggle to its kind; a refused file leaves nothing to save under its
error; a file read before is read again when it is put in the uploader again."""

from __future__ import annotations

import pandas as pd
from apptools import healthy, open_page, texts

MODE = "data_mode"


def csv(**columns) -> bytes:
    return pd.DataFrame(columns).to_csv(index=False).encode()


FIRST = csv(age=[50, 61, 70, 45] * 10, outcome=[0, 1, 1, 0] * 10)
SECOND = csv(weight=[80, 72, 91, 66] * 10, smoker=[1, 0, 1, 0] * 10, event=[0, 1, 1, 0] * 10)


def upload(at, name: str, content: bytes, mime: str = "text/csv"):
    return healthy(at.file_uploader(key="data_upload").set_value((name, content, mime)).run())


def shown_columns(at) -> list[str]:
    return list(at.session_state["data_draft"]["frame"].columns)


def save_buttons(at) -> list:
    return [b for b in at.button if b.label == "Save dataset"]


def test_newest_upload_wins_and_a_refused_one_leaves_nothing_to_save():
    at = open_page("data")
    upload(at, "first.csv", FIRST)
    assert shown_columns(at) == ["age", "outcome"]
    assert at.session_state[MODE] == "Patient records"
    assert save_buttons(at)

    # A broken file: its error, no draft under it, nothing to save.
    upload(at, "broken.xlsx", b"this is not a spreadsheet")
    assert texts(at.error), "the refusal is shown"
    assert "data_draft" not in at.session_state
    assert not save_buttons(at)
    assert not at.dataframe
    healthy(at.run())  # still refused, still nothing to save
    assert texts(at.error) and not save_buttons(at)

    upload(at, "second.csv", SECOND)
    assert not texts(at.error)
    assert shown_columns(at) == ["weight", "smoker", "event"]
    assert save_buttons(at)


def test_an_upload_replaces_a_demo_image_set_and_the_toggle_follows():
    at = open_page("data")
    upload(at, "first.csv", FIRST)
    # The handwritten-digit demo becomes the page's dataset...
    healthy(at.button_group(key=MODE).set_value("Medical images").run())
    healthy(next(b for b in at.button if b.label.startswith("Demo: handwritten")).click().run())
    assert at.session_state["data_draft"]["kind"] == "images"
    assert at.session_state[MODE] == "Medical images"
    # ...then the same CSV is put in the uploader again: it wins, and the toggle says so.
    upload(at, "first.csv", FIRST)
    assert at.session_state["data_draft"]["kind"] == "table"
    assert shown_columns(at) == ["age", "outcome"]
    assert at.session_state[MODE] == "Patient records"

    # The toggle moved by hand away from the data: the table is not shown under "images".
    healthy(at.button_group(key=MODE).set_value("Medical images").run())
    assert not save_buttons(at) and not at.dataframe
    assert any("The dataset on the page is a patient table" in t for t in texts(at.info))


def test_a_saved_dataset_is_deleted_only_after_the_confirmation(isolated_workspace):
    from dlcore.data.catalog import list_datasets

    at = open_page("data")
    upload(at, "first.csv", FIRST)
    healthy(next(b for b in at.button if b.label == "Save dataset").click().run())
    saved = [d.id for d in list_datasets()]
    assert len(saved) >= 1
    new_id = at.session_state["current_dataset_id"]
    delete = next(b for b in at.button if b.label == "Delete dataset")
    assert delete.disabled  # nothing happens before the box is ticked
    confirm = next(c for c in at.checkbox if c.label.startswith("Yes, delete its records"))
    healthy(confirm.check().run())
    healthy(next(b for b in at.button if b.label == "Delete dataset").click().run())
    assert new_id not in [d.id for d in list_datasets()]
    assert at.session_state["current_dataset_id"] is None
