"""Home and the sidebar say the same about the demo model (issue 14 #9): its status, the counters
and the sidebar's job line all follow the job's real state, read in one snapshot."""

from __future__ import annotations

import datetime as dt

from apptools import healthy, metrics, new_app, switched_workspace, texts


def sidebar_text(at) -> str:
    parts = [e.value for e in at.sidebar.markdown] + [e.value for e in at.sidebar.caption]
    parts += [p.proto.text for p in at.sidebar.get("progress")]
    return "\n".join(parts)


def set_job(status: str, **progress) -> None:
    from dlcore.store import JobRow, get_store

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with get_store().session() as session:
        row = session.get(JobRow, "demo-job") or JobRow(
            id="demo-job", title="Demo model: breast cancer diagnosis", params={}
        )
        row.status, row.progress, row.heartbeat = status, progress, now
        row.finished = None if status in ("queued", "running") else now
        session.add(row)
        session.commit()


def test_status_counters_and_sidebar_follow_the_demo_job(tiny_binary):
    """A queued job, then a running one while the model is already registered (the worker has
    not marked the job finished yet), then the finished job: three consistent screens."""
    from dlcore.registry import _folder, get_card

    folder, card = _folder(tiny_binary.record.id), get_card(tiny_binary.record.id)
    assert card["dataset"]["source"] == "demo:breast_cancer"
    with switched_workspace("dlcore-home-"):
        # a new session each time: AppTest reruns a page without app.py (so without the sidebar)
        at = healthy(new_app().run())
        assert metrics(at)["Models"] == "0"

        set_job("queued")
        at = healthy(new_app().run())
        assert metrics(at)["Training jobs running or queued"] == "1"
        assert any("queued to train" in t for t in texts(at.info))
        assert not any("is ready" in t for t in texts(at.success))
        assert "queued" in sidebar_text(at)

        # the model is registered while the worker has not yet marked its job finished
        register_copy(folder, card)
        set_job("running", fraction=0.5, eta_s=30)
        at = healthy(new_app().run())
        assert metrics(at)["Models"] == "1"
        assert metrics(at)["Training jobs running or queued"] == "1"
        assert any("training in the background (50%" in t for t in texts(at.info))
        assert not any("is ready" in t for t in texts(at.success))
        assert "50% · 30 s left" in sidebar_text(at)

        set_job("succeeded", fraction=1.0)
        at = healthy(new_app().run())
        assert metrics(at)["Models"] == "1"
        assert metrics(at)["Training jobs running or queued"] == "0"
        assert any("is ready" in t for t in texts(at.success))
        assert not any("training" in t or "queued" in t for t in texts(at.info))
        assert "Training jobs" not in sidebar_text(at)


def register_copy(folder, card: dict) -> None:
    """Put a registered model into this workspace's registry (its folder and index row)."""
    import shutil

    from dlcore.config import get_settings
    from dlcore.store import ModelRow, get_store

    target = get_settings().models_dir / folder.name
    shutil.copytree(folder, target)
    with get_store().session() as session:
        session.add(
            ModelRow(
                id=card["id"],
                name=card["name"],
                version=card["version"],
                task=card["task"],
                dataset_name=card["dataset"].get("name", ""),
                key_metric_name="roc_auc",
                key_metric_value=0.9,
                path=str(target),
            )
        )
        session.commit()
