"""Jobs on a simulated two-node Ray cluster (both nodes on this machine), from the app's API."""

from __future__ import annotations

import os
import time

import pytest

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    """A head node (1 CPU) and a worker node (1 CPU, a 'ward' resource), connected."""
    from ray.cluster_utils import Cluster

    from dlcore.training import jobs

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1, resources={"ward": 1})
    cluster.wait_for_nodes()
    os.environ["RAY_ADDRESS"] = cluster.address
    jobs._backends.pop("ray", None)
    yield cluster, worker
    jobs._backends.pop("ray", None)
    os.environ.pop("RAY_ADDRESS", None)
    ray.shutdown()
    cluster.shutdown()


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


def test_jobs_from_the_apps_api_run_on_both_nodes(cluster, dataset_id, monkeypatch):
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


def test_a_job_whose_node_dies_is_marked_failed_with_the_reason(cluster, dataset_id, monkeypatch):
    from dlcore.training.jobs import RUNNING, get_job, submit_training, wait_for_job

    ray_cluster, worker = cluster
    monkeypatch.setenv("DLCORE_RAY_RESOURCES", '{"ward": 1}')  # runs on the worker node
    job_id = submit_training(dataset_id, _spec(epochs=400), name="doomed", backend="ray")
    deadline = time.monotonic() + 120
    while get_job(job_id).status != RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
    assert get_job(job_id).status == RUNNING
    ray_cluster.remove_node(worker, allow_graceful=False)
    job = wait_for_job(job_id, timeout_s=90)
    assert job.status == "failed"
    assert "Ray task" in (job.error or "")
