"""The job panel says what the job is doing (issue 14 #4, #5, #7, #8): the selector's text follows
the job's state, a cancelled run is not shown 100% done, 'queued' is said while queued and never
'0 job(s) ahead', and no time-left estimate is given before the run can make one."""

from __future__ import annotations

import datetime as dt

from apptools import healthy, open_page, texts, widget

from dlcore.training.jobs import JobInfo


def job(status: str, **values) -> JobInfo:
    now = dt.datetime(2026, 1, 1, 12, 0, 0)
    fields = dict(
        id=f"j-{status}",
        kind="train",
        title=f"{status} run",
        status=status,
        params={"task": "binary", "spec": {"epochs": 50}},
        progress={},
        error=None,
        model_id=None,
        result={},
        cancel_requested=False,
        created=now,
        started=now,
        finished=None,
    )
    fields.update(values)
    return JobInfo(**fields)


def test_state_text_follows_the_job():
    from ui.jobs import job_state_text, progress_text, submitted_text, time_left_text

    assert job_state_text(job("queued")) == "queued"
    running = job("running", progress={"epoch": 3, "epochs": 50, "fraction": 0.06})
    assert job_state_text(running) == "running · epoch 3 of 50"
    assert job_state_text(job("running", cancel_requested=True)) == "stopping"
    assert job_state_text(job("succeeded")) == "finished"
    cancelled = job("cancelled", progress={"epoch": 4, "epochs": 50, "fraction": 1.0})
    assert job_state_text(cancelled) == "cancelled at epoch 4"
    # a cancelled run is not 100% done, even if an older worker wrote fraction 1.0
    assert progress_text(cancelled) == "stopped at epoch 4"
    assert progress_text(job("succeeded", progress={"fraction": 1.0})) == "100%"
    assert progress_text(running) == "6%"
    # no time left before the run can estimate it
    assert time_left_text(running) == "estimating the time left"
    later = job("running", progress={"epoch": 5, "epochs": 50, "eta_s": 130.0})
    assert time_left_text(later) == "at most about 2 min 10 s left"
    # the toast for a job that waits: 'queued', never '0 job(s) ahead'
    text = submitted_text(job("queued", id="j-new-queued"))
    assert "queued" in text.lower() and "0 job" not in text


def test_train_page_selector_and_table_match_each_job(isolated_workspace):
    from dlcore.store import JobRow, get_store

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        JobRow(
            id="j-done",
            title="finished run",
            status="succeeded",
            progress={"epoch": 5, "epochs": 5, "fraction": 1.0},
            result={"epochs_run": 5, "best_epoch": 5, "metrics": {}},
            created=now - dt.timedelta(minutes=3),
            started=now - dt.timedelta(minutes=3),
            finished=now - dt.timedelta(minutes=2),
        ),
        JobRow(
            id="j-stopped",
            title="stopped run",
            status="cancelled",
            progress={"epoch": 3, "epochs": 50, "fraction": 1.0},
            error="cancelled by the user",
            cancel_requested=True,
            created=now - dt.timedelta(minutes=1),
            started=now - dt.timedelta(minutes=1),
            finished=now,
        ),
    ]
    with get_store().session() as session:
        session.add_all(rows)
        session.commit()
    at = open_page("train")
    selector = widget(at.selectbox, "Show job")
    labels = {o for o in selector.options}
    assert any(o.startswith("finished run · finished ·") for o in labels), labels
    assert any(o.startswith("stopped run · cancelled at epoch 3 ·") for o in labels), labels
    assert not any("queued" in o for o in labels)
    table = at.dataframe[-1].value
    progress = dict(zip(table["job"], table["progress"], strict=True))
    assert progress == {"finished run": "100%", "stopped run": "stopped at epoch 3"}
    # the watched job's panel says the same as its label
    healthy(selector.set_value("j-stopped").run())
    assert "**Status:** cancelled at epoch 3" in texts(at.markdown)
    assert not at.get("progress")  # no progress bar for a job that is over
