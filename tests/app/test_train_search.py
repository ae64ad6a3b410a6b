"""Train page: a search is one choice away, and its trials show as a live leaderboard (issue 16)."""

from __future__ import annotations

import datetime as dt

from apptools import button, cancelled_and_gone, healthy, open_page, texts, widget


def test_a_search_job_is_submitted_with_its_budget(isolated_workspace):
    from dlcore.data.catalog import save_dataset
    from dlcore.data.demo import load_demo
    from dlcore.training.jobs import list_jobs

    save_dataset(load_demo("breast_cancer"))
    at = open_page("train")
    healthy(widget(at.checkbox, "Search the settings first").check().run())
    healthy(widget(at.number_input, "Trials").set_value(4).run())
    healthy(widget(at.number_input, "Minutes").set_value(5).run())
    healthy(button(at, "Start training").click().run())
    jobs = list_jobs(limit=5)
    assert jobs and jobs[0].params["search"] == {"trials": 4, "minutes": 5.0}
    assert jobs[0].params.get("cv_folds", 0) == 0  # a search is judged on the validation split
    assert cancelled_and_gone(jobs[0].id)


def test_the_leaderboard_shows_each_trials_latest_report_best_first(isolated_workspace):
    from dlcore.store import JobRow, get_store
    from dlcore.training.jobs import _ProgressWriter

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with get_store().session() as session:
        session.add(
            JobRow(
                id="j-search",
                title="search run",
                status="running",
                params={
                    "task": "binary",
                    "spec": {"epochs": 30},
                    "search": {"trials": 3, "minutes": 9},
                },
                progress={},
                created=now,
                started=now,
                heartbeat=now,
            )
        )
        session.commit()
    writer = _ProgressWriter("j-search")
    settings = {"hidden_units": [64, 32], "learning_rate": 0.001}
    for trial, epoch, loss, status in (
        (1, 1, 0.50, "running"),
        (1, 2, 0.40, "running"),
        (2, 1, 0.30, "running"),
        (1, 3, 0.35, "finished"),
        (3, 0, None, "not run (budget)"),  # started when the time was up: not counted
    ):
        writer.on_trial(
            {
                "trial": trial,
                "settings": settings,
                "val_loss": loss,
                "val_auc": None if trial == 2 else 0.9123,
                "epoch": epoch,
                "status": status,
            }
        )
    at = open_page("train")
    assert any("2 of at most 3 trials" in t for t in texts(at.markdown))
    table = next(d.value for d in at.dataframe if "validation loss" in d.value.columns)
    assert list(table["trial"]) == [2, 1, 3]
    assert list(table["validation loss"])[:2] == [0.30, 0.35]
    assert list(table["state"]) == ["running", "finished", "not run (budget)"]
    # the AUC of each trial's best epoch beside its loss (not chosen on); none reported yet: blank
    assert table["validation AUC"].iloc[1] == 0.912 and table["validation AUC"].isna().iloc[0]
    assert any("not chosen on" in t for t in texts(at.markdown))
    assert table["hidden units"].iloc[0] == "64, 32"
