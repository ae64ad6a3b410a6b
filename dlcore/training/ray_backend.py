"""Jobs on Ray (``DLCORE_JOBS_BACKEND=ray``): each training job is a Ray task on any node.

The task holds the job's CPU (and, when the cluster has one, GPU) reservation and runs the same
worker as the local backend (``python -m dlcore.training.worker JOB``) in a fresh interpreter on
its node, so TensorFlow never forks and a crash never takes the app down. Progress and cancel
still go through the store, so the pages do not change.

Liveness: the worker's heartbeat in the store (any process on any host can judge it), and Ray's
own task state: the process that launched the task watches it and marks the job failed, with
Ray's reason, when the task dies with its node.

Deployment: every node mounts the workspace (``DLCORE_HOME``) at the same path and can import
this package; the database is PostgreSQL (``DLCORE_DATABASE_URL``). A SQLite file is refused
once the cluster spans more than one machine. ``RAY_ADDRESS`` names the head node; without it a
local Ray is started on this machine.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import update

from dlcore.config import get_settings
from dlcore.errors import ConfigError
from dlcore.store import JobRow, db_now, get_store

logger = logging.getLogger(__name__)

START_HEAD = "ray start --head --port=6379"
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """Refuse quickly (ConfigError) a RAY_ADDRESS where no head node answers."""
    if address in ("auto", "local"):
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"RAY_ADDRESS '{address}' is not an address.",
            expected="host:port of a Ray head node, e.g. 10.0.0.5:6379",
            fix="set RAY_ADDRESS to the head node's address, or unset it to use a local Ray",
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ConfigError(
            f"No Ray head node answers at RAY_ADDRESS '{address}' "
            f"({exc.strerror or type(exc).__name__}).",
            expected="the address of a running Ray head node (host:port)",
            fix=f"start a head node there with `{START_HEAD}`, or unset RAY_ADDRESS to start a "
            "local Ray; jobs already queued stay queued until a backend runs them",
        ) from None


def ensure_ray(address: str | None = None) -> Any:
    """Connect to the Ray cluster at ``address`` (default RAY_ADDRESS), or start a local one.

    Raises ConfigError when the address does not answer.
    """
    import ray

    if ray.is_initialized():
        return ray
    address = address if address is not None else (os.environ.get("RAY_ADDRESS") or None)
    if address:
        check_reachable(address)
    settings = get_settings()
    env_vars = {
        "DLCORE_HOME": str(settings.home),
        "DLCORE_DATABASE_URL": settings.database_url,
        "PYTHONPATH": os.pathsep.join(
            p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")) if p
        ),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # A search's trials reuse their worker process: before the next trial, Tune waits this
        # long for the stopped trial's thread to end, then ABORTS the next trial (reported lost).
        # Ray's 2 s is shorter than an image epoch under load: on a PneumoniaMNIST search 2 of
        # 4 trials were aborted that way ("Could not re-use actor ... reset_config()").
        "TUNE_FUNCTION_THREAD_TIMEOUT_S": os.environ.get("TUNE_FUNCTION_THREAD_TIMEOUT_S", "900"),
    }
    options: dict[str, Any] = {
        "ignore_reinit_error": True,
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "runtime_env": {"env_vars": env_vars},
    }
    # Without an address Ray would join "the latest Ray instance started on this machine" (any
    # `ray start`, anyone's): "local" starts this process's own, as the settings say.
    options["address"] = address or "local"
    ray.init(**options)
    return ray


def check_cluster_database(ray: Any) -> None:
    """Refuse (ConfigError) a SQLite database when the cluster spans more than one machine."""
    alive = [n for n in ray.nodes() if n.get("Alive")]
    machines = {n.get("NodeManagerAddress") for n in alive}
    url = get_settings().database_url
    if len(machines) > 1 and url.startswith("sqlite"):
        raise ConfigError(
            f"The Ray cluster spans {len(machines)} machines but the database is a SQLite file.",
            expected="a PostgreSQL database that every node reaches",
            fix="set DLCORE_DATABASE_URL=postgresql+psycopg://user:password@host/db on every "
            "node, or run the cluster on one machine",
        )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the worker process is killed when the Ray task that started it dies."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_job_task(job_id: str) -> int:
    """The body of the Ray task: the job's worker in a fresh interpreter on this node."""
    import ray

    settings = get_settings()
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    context = ray.get_runtime_context()
    env = dict(
        os.environ,
        DLCORE_NODE_NAME=f"{socket.gethostname()}/ray-{context.get_node_id()[:8]}",
        RAY_ADDRESS=context.gcs_address,  # a search job's trials join this cluster
    )
    with open(settings.jobs_dir / f"{job_id}.log", "ab") as log:
        done = subprocess.run(
            [sys.executable, "-m", "dlcore.training.worker", job_id],
            cwd=PACKAGE_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            check=False,
        )
    return done.returncode


def mark_lost(job_id: str, reason: str) -> bool:
    """Mark a still-active job failed with ``reason``; returns whether it was active."""
    with get_store().session() as session:
        result = session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status.in_(("queued", "running")))
            .values(status="failed", error=reason, finished=db_now(get_store().engine))
        )
        session.commit()
        return bool(result.rowcount)


class RayBackend:
    """Training jobs as Ray tasks (see the module's docstring)."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self._ray = ensure_ray(address)
        check_cluster_database(self._ray)
        self._refs: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._task = self._ray.remote(max_retries=0)(run_job_task)

    def _resources(self) -> dict[str, Any]:
        """What a job asks Ray for: DLCORE_RAY_CPUS_PER_JOB CPUs (1), a GPU when the cluster
        has one, and the custom resources of DLCORE_RAY_RESOURCES (JSON, e.g. {"ward": 1})."""
        cpus = float(os.environ.get("DLCORE_RAY_CPUS_PER_JOB", "1"))
        gpus = 1.0 if self._ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
        extra = os.environ.get("DLCORE_RAY_RESOURCES")
        resources: dict[str, Any] = {"num_cpus": cpus, "num_gpus": gpus}
        if extra:
            try:
                resources["resources"] = {str(k): float(v) for k, v in json.loads(extra).items()}
            except (ValueError, AttributeError):
                raise ConfigError(
                    f"DLCORE_RAY_RESOURCES is not a JSON object of numbers: {extra[:80]!r}.",
                    expected='e.g. {"gpu_node": 1}',
                    fix="correct or unset DLCORE_RAY_RESOURCES",
                ) from None
        return resources

    def launch(self, job_id: str) -> int | None:
        ref = self._task.options(**self._resources()).remote(job_id)
        with self._lock:
            self._refs[job_id] = ref
        threading.Thread(
            target=self._watch, args=(job_id, ref), name=f"ray-watch-{job_id}", daemon=True
        ).start()
        logger.info("job %s submitted to Ray", job_id)
        return None

    def _watch(self, job_id: str, ref: Any) -> None:
        try:
            code = self._ray.get(ref)
            reason = None if code == 0 else f"the worker exited with code {code}"
        except Exception as exc:  # Ray's reason: the node died, the task was cancelled, ...
            reason = f"the Ray task running this job stopped ({type(exc).__name__})"
        if reason and mark_lost(job_id, reason):
            logger.warning("job %s marked failed: %s", job_id, reason)

    def is_alive(self, job: Any) -> bool:
        with self._lock:
            ref = self._refs.get(job.id)
        if ref is None:  # launched by another process: its heartbeat decides
            return True
        ready, _ = self._ray.wait([ref], timeout=0)
        return not ready

    def terminate(self, job: Any) -> None:
        with self._lock:
            ref = self._refs.get(job.id)
        if ref is not None:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
