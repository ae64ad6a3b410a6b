"""Evaluate keeps its place (issue 14 #10): the tabs are keyed and tracked (their selection
lives in st.session_state), so an action inside a tab — a threshold preset, the subgroup
variable, fitting a recalibration — reruns the page on the same tab, not on the first."""

from __future__ import annotations

import pytest
from apptools import button, healthy, open_page, snapshot_cards, widget

SECTION_KEY = "evaluate_section"


@pytest.fixture
def binary_model(tiny_binary):
    restore = snapshot_cards(tiny_binary.record.id)
    try:
        yield tiny_binary.record.id
    finally:
        restore()


def tab_containers(at) -> list:
    found = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(node, "type", None) == "tab_container":
            found.append(proto)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def test_the_open_tab_survives_a_preset_a_subgroup_change_and_a_recalibration(binary_model):
    from dlcore.report.wording import NUMBERS_HELP_TITLE

    at = open_page("evaluate")
    # the plain-words help is on Evaluate as on Predict and Explain (issue 14)
    assert NUMBERS_HELP_TITLE in [e.label for e in at.expander]
    healthy(widget(at.selectbox, "Model").set_value(binary_model).run())
    # The tab container is a stateful widget (the browser reports the open tab back).
    containers = tab_containers(at)
    assert len(containers) == 1 and containers[0].tab_container.id
    assert [t.label for t in at.tabs][:4] == [
        "Discrimination",
        "Calibration",
        "Operating threshold",
        "Decision curve",
    ]

    at.session_state[SECTION_KEY] = "Operating threshold"
    healthy(at.run())
    healthy(at.selectbox(key=f"evaluate_preset_{binary_model}").set_value("sensitivity").run())
    assert at.session_state[SECTION_KEY] == "Operating threshold"
    healthy(at.run())
    assert at.session_state[SECTION_KEY] == "Operating threshold"

    at.session_state[SECTION_KEY] = "Subgroups"
    healthy(at.selectbox(key=f"evaluate_group_{binary_model}").set_value("mean radius").run())
    assert at.session_state[SECTION_KEY] == "Subgroups"
    # The threshold chosen on its (hidden) tab still drives the tiles.
    assert at.selectbox(key=f"evaluate_preset_{binary_model}").value == "sensitivity"

    at.session_state[SECTION_KEY] = "Calibration"
    healthy(at.run())
    healthy(at.radio(key=f"evaluate_recalibration_{binary_model}").set_value("temperature").run())
    healthy(button(at, "Fit on the validation split").click().run())
    healthy(at.run())  # the page reruns itself after saving
    assert at.session_state[SECTION_KEY] == "Calibration"
