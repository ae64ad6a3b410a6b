"""Jobs on a simulated two-node Ray cluster (both nodes on this machine), from the app's API."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

ray = pytest.importorskip("ray")


# The head declares a killed node dead after 3 failed health checks 0.5 s apart (Ray's default:
# 5 checks 3 s apart, 15 s). A killed raylet refuses the check at once; a live one, however
# loaded, has 10 s per check (Ray's default), so a busy machine does not lose a node. Until the
# dead node is declared dead, wait_for_nodes() waits for it to go, and its replacement with it.
QUICK = {
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 3,
    "health_check_initial_delay_ms": 1000,
}


@pytest.fixture(scope="module")
def cluster():
    """A head node (1 CPU) and a worker node (1 CPU, a 'ward' resource), connected.

    One cluster for the module (starting one takes 5–10 s). Tests that kill the worker node do
    not replace it: the ``worker_node`` fixture does, only for a test that needs it after.
    """
    from ray.cluster_utils import Cluster

    from dlcore.training import jobs

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": QUICK})
    cluster.add_node(num_cpus=1, resources={"ward": 1})
    cluster.wait_for_nodes()
    os.environ["RAY_ADDRESS"] = cluster.address
    jobs._backends.pop("ray", None)
    yield cluster
    jobs._backends.pop("ray", None)
    os.environ.pop("RAY_ADDRESS", None)
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture
def worker_node(cluster):
    """The cluster's live worker node (1 CPU, 'ward'): a new one if a test before killed it."""
    if not cluster.worker_nodes:
        cluster.add_node(num_cpus=1, resources={"ward": 1})
        cluster.wait_for_nodes()
    return next(iter(cluster.worker_nodes))


@pytest.fixture(scope="module")
def dataset_id(cluster):
    from dlcore.data.catalog import save_dataset
    from dlcore.data.demo import load_demo

    return save_dataset(load_demo("breast_cancer"))


def _spec(epochs: int = 2):
    from dlcore.models.spec import ModelSpec

    return ModelSpec(hidden_units=[8], epochs=epochs, batch_size=64, seed=1)


def test_an_unreachable_ray_address_is_refused_with_the_address_and_how_to_start_a_head():
    from dlcore.errors import ConfigError
    from dlcore.training.ray_backend import check_reachable

    with pytest.raises(ConfigError) as caught:
        check_reachable("127.0.0.1:1", timeout_s=1)
    text = str(caught.value)
    assert "127.0.0.1:1" in text and "ray start --head" in text


def test_jobs_from_the_apps_api_run_on_both_nodes(worker_node, dataset_id, monkeypatch):
    from dlcore.training.jobs import get_job, submit_training, wait_for_job

    monkeypatch.setenv("DLCORE_MAX_CONCURRENT_JOBS", "2")
    from dlcore.config import reset_settings

    reset_settings()
    ids = [submit_training(dataset_id, _spec(), name=f"ray {i}", backend="ray") for i in range(2)]
    finished = [wait_for_job(job_id, timeout_s=240) for job_id in ids]
    assert [j.status for j in finished] == ["succeeded", "succeeded"], [j.error for j in finished]
    hosts = {get_job(job_id).host for job_id in ids}
    # each node has one CPU and each job asks for one: the two ran on different nodes
    assert len(hosts) == 2 and all("/ray-" in h for h in hosts)
    assert all(get_job(job_id).backend == "ray" for job_id in ids)
    reset_settings()


def test_a_budget_that_allows_no_trial_is_refused():
    from dlcore.errors import UserError
    from dlcore.training.search import check_budget

    for trials, minutes in ((0, 5), (-3, 5), (4, 0), (4, -1), (4, float("nan"))):
        with pytest.raises(UserError):
            check_budget(trials, minutes)


def test_the_command_line_refuses_a_search_budget_of_zero(capsys):
    from dlcore.cli.main import main

    code = main(["train", "--data", "demo:breast_cancer", "--search", "--budget-trials", "0"])
    assert code == 2
    assert "allows none" in capsys.readouterr().err


def test_a_search_job_shows_its_trials_as_a_leaderboard_and_registers_the_choice(
    worker_node, dataset_id
):
    from dlcore.registry import get_card
    from dlcore.training.jobs import search_leaderboard, submit_training, wait_for_job

    job_id = submit_training(
        dataset_id,
        _spec(epochs=2),
        name="search job",
        backend="ray",
        search={"trials": 2, "minutes": 3},
    )
    job = wait_for_job(job_id, timeout_s=300)
    assert job.status == "succeeded", job.error
    board = search_leaderboard(job_id)
    assert sorted(t["trial"] for t in board) == [1, 2]
    assert all(t["status"] == "finished" for t in board)
    card = get_card(job.model_id)
    search = card["search"]
    assert search["trials_run"] == 2 and search["budget"] == {"trials": 2, "minutes": 3.0}
    # the default settings are trial 1; the choice is the best on validation and is what trained
    assert search["trials"][0]["settings"]["hidden_units"] == [8]
    assert search["best_val_loss"] == min(t["val_loss"] for t in board)
    assert search["best_val_loss"] <= search["default_val_loss"]
    # the validation AUC of each trial's best epoch is reported beside the loss (not chosen on)
    chosen = next(t for t in search["trials"] if t["val_loss"] == search["best_val_loss"])
    assert search["best_val_auc"] == chosen["val_auc"]
    assert search["default_val_auc"] == search["trials"][0]["val_auc"]
    assert all(0.5 < t["val_auc"] <= 1.0 for t in search["trials"])
    assert card["spec"]["learning_rate"] == pytest.approx(
        search["chosen_settings"]["learning_rate"]
    )


def test_a_job_whose_node_dies_is_marked_failed_with_the_reason(
    cluster, worker_node, dataset_id, monkeypatch
):
    from dlcore.training.jobs import RUNNING, get_job, submit_training, wait_for_job

    monkeypatch.setenv("DLCORE_RAY_RESOURCES", '{"ward": 1}')  # runs on the worker node
    job_id = submit_training(dataset_id, _spec(epochs=400), name="doomed", backend="ray")
    deadline = time.monotonic() + 120
    while get_job(job_id).status != RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
    assert get_job(job_id).status == RUNNING
    cluster.remove_node(worker_node, allow_graceful=False)
    job = wait_for_job(job_id, timeout_s=90)
    assert job.status == "failed"
    assert "Ray task" in (job.error or "")


def test_a_node_lost_mid_search_keeps_the_finished_trials_and_names_the_lost_one(
    cluster, worker_node
):
    """Trials need the worker node's 'ward' resource, so they run there one after another; the
    node is killed while trial 2 trains. Trial 1 is kept with its score; trial 2 is reported
    lost, and is not chosen."""
    from dlcore.data.demo import load_demo
    from dlcore.models.spec import ModelSpec
    from dlcore.training.search import run_search

    running: list[int] = []  # the search's callbacks are pickled: the killer is a thread here
    killed: list[int] = []

    def kill_during_trial_2() -> None:
        deadline = time.monotonic() + 120
        while 2 not in running and time.monotonic() < deadline:
            time.sleep(0.05)
        killed.append(2)
        cluster.remove_node(worker_node, allow_graceful=False)

    killer = threading.Thread(target=kill_during_trial_2, daemon=True)
    killer.start()
    analysis_records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = analysis_records.append
    analysis_log = logging.getLogger("ray.tune.analysis.experiment_analysis")
    analysis_log.addHandler(handler)
    base = ModelSpec(hidden_units=[8], epochs=15, early_stopping_patience=0, batch_size=64, seed=1)
    found = run_search(
        load_demo("breast_cancer"),
        base,
        trials=2,
        minutes=3,
        on_trial=lambda row: running.append(row["trial"]) if row["status"] == "running" else None,
        space={"learning_rate": ("loguniform", 1e-3, 1e-2)},
        resources={"ward": 1},
    )
    killer.join(timeout=5)
    analysis_log.removeHandler(handler)
    # Tune's "Failed to fetch metrics" for every trial (its result files are off) is not shown
    assert not [r for r in analysis_records if "Failed to fetch" in r.getMessage()]
    assert killed == [2]
    assert found.lost == [2]
    assert [t.status for t in found.trials] == ["finished", "lost"]
    assert found.trials[0].val_loss is not None and found.trials[0].epochs == 15
    assert found.best_val_loss == found.trials[0].val_loss
    assert 0.9 < found.trials[0].val_auc <= 1.0
    assert found.best_val_auc == found.default_val_auc == found.trials[0].val_auc
    assert found.to_card()["lost_trials"] == [2]
    assert found.trials[1].reason and "Error" in found.trials[1].reason.split(":")[0]
    assert found.trials[0].reason is None


def test_a_search_ends_within_its_budget_cutting_the_trial_still_training(cluster, worker_node):
    """A 30-second search whose one trial would train 500 epochs: the trial is cut when the
    search's clock says the time is up (its cut epoch validated and kept), and the search
    returns within its budget instead of at the end of the trial's epochs."""
    from dlcore.data.demo import load_demo
    from dlcore.models.spec import ModelSpec
    from dlcore.training.search import run_search

    base = ModelSpec(hidden_units=[8], epochs=500, early_stopping_patience=0, batch_size=8, seed=1)
    found = run_search(
        load_demo("breast_cancer"),
        base,
        trials=1,
        minutes=0.5,
        space={"learning_rate": ("loguniform", 1e-3, 1e-2)},
    )
    (trial,) = found.trials
    assert trial.status == "stopped at the budget", trial
    assert 1 <= trial.epochs < 500 and trial.val_loss is not None and trial.reason is None
    assert found.best_val_loss == trial.val_loss
    assert found.elapsed_s < 30 + 5  # the budget, and Tune's shutdown
    assert found.to_card()["trials_run"] == 1
