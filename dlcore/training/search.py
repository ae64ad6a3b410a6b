"""Hyperparameter search with Ray Tune: trials in parallel across the cluster's (or this
machine's) CPUs, stopped early by ASHA, chosen on the validation split only.

Every trial trains through the one training path (``dlcore.training.fit.train``) on the same
seeded split, reporting its validation loss (a proper scoring rule: it rewards calibrated
probabilities as well as discrimination) at each epoch, and for a binary outcome the validation
AUC of its best epoch (reported beside the loss, never chosen on). The test split is touched
once, by the chosen settings, in ``search_and_register``; the card records the search: space,
trials, budget, the chosen settings and the validation loss and AUC of the chosen and the
default settings. The default settings are always the first trial, so the search can only
improve on them on the validation split.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from dlcore.errors import UserError

logger = logging.getLogger(__name__)

DEFAULT_TRIALS = 16
DEFAULT_MINUTES = 30.0
METRIC = "val_loss"
NOT_RUN = "not run (budget)"

# What is searched, as people read it (the card keeps this) and as Tune samples it. The default
# settings for every set size are points of these spaces (tests/dlcore/training/test_search_space.py).
TABLE_SPACE: dict[str, Any] = {
    "hidden_units": ("choice", [[16], [32], [64], [32, 16], [64, 32], [128, 64]]),
    "dropout": ("uniform", 0.0, 0.4),
    "learning_rate": ("loguniform", 3e-4, 1e-2),
    "batch_size": ("choice", [16, 32, 64]),
    "weight_decay": ("choice", [0.0, 1e-5, 1e-4, 1e-3, 1e-2]),
}
# Images: convolution blocks and their width (conv_filters: one entry per block), residual or
# plain blocks, the learning-rate schedule and the augmentation's strength besides the head.
IMAGE_SPACE: dict[str, Any] = {
    "conv_filters": (
        "choice",
        [[32, 64], [16, 32, 64], [32, 64, 128], [48, 96, 192], [16, 32, 64, 128]],
    ),
    "residual": ("choice", [True, False]),
    "lr_schedule": ("choice", ["cosine", "constant"]),
    "hidden_units": ("choice", [[32], [64], [128]]),
    "augmentation": (
        "choice",
        [
            [],
            ["flip"],
            ["flip", "rotation"],
            ["flip", "rotation", "zoom"],
            ["flip", "rotation", "zoom", "contrast"],
        ],
    ),
    "dropout": ("uniform", 0.0, 0.4),
    "learning_rate": ("loguniform", 3e-4, 3e-3),
    "weight_decay": ("choice", [0.0, 1e-4, 1e-3]),
    "batch_size": ("choice", [32, 64]),
}
# Not label smoothing: it changes the validation loss itself, so trials would not compare.


@dataclass
class SearchTrial:
    """One trial: its number, settings, best validation loss, epochs run and how it ended;
    ``val_auc`` is the validation AUC of the best-loss epoch (binary outcomes, else None)."""

    number: int
    settings: dict[str, Any]
    val_loss: float | None
    epochs: int
    status: str  # finished | stopped early | stopped at the budget | not run (budget) | lost
    val_auc: float | None = None
    reason: str | None = None  # a lost trial: the error's kind and first line


@dataclass
class SearchResult:
    """A finished search: every trial, the chosen settings, and what it was allowed."""

    trials: list[SearchTrial]
    best_settings: dict[str, Any]
    best_val_loss: float | None
    default_val_loss: float | None
    space: dict[str, Any]
    budget_trials: int
    budget_minutes: float
    elapsed_s: float
    scheduler: str = "ASHA (asynchronous successive halving)"
    selected_on: str = "validation loss (validation split only; test split untouched)"
    lost: list[int] = field(default_factory=list)
    # binary outcomes: the validation AUC of the chosen trial and of the default settings
    best_val_auc: float | None = None
    default_val_auc: float | None = None

    def leaderboard(self) -> list[dict[str, Any]]:
        """Trials best first (lost ones last): what a page or the CLI shows."""
        rows = [
            {
                "trial": t.number,
                "val_loss": t.val_loss,
                "val_auc": t.val_auc,
                "epochs": t.epochs,
                "status": t.status,
                "reason": t.reason,
            }
            | {k: _shown(v) for k, v in t.settings.items()}
            for t in self.trials
        ]
        return sorted(rows, key=lambda r: math.inf if r["val_loss"] is None else r["val_loss"])

    def to_card(self) -> dict[str, Any]:
        """The search as the model card records it."""
        return {
            "space": {k: list(v[1:]) for k, v in self.space.items()},
            "scheduler": self.scheduler,
            "selected_on": self.selected_on,
            "budget": {"trials": self.budget_trials, "minutes": self.budget_minutes},
            "trials_run": sum(t.status != NOT_RUN for t in self.trials),
            "lost_trials": self.lost,
            "elapsed_s": round(self.elapsed_s, 1),
            "chosen_settings": self.best_settings,
            "best_val_loss": self.best_val_loss,
            "default_val_loss": self.default_val_loss,
            "best_val_auc": self.best_val_auc,
            "default_val_auc": self.default_val_auc,
            "trials": [asdict(t) for t in self.trials],
        }


def _shown(value: Any) -> Any:
    return "–".join(map(str, value)) if isinstance(value, list) else value


def check_budget(trials: int, minutes: float) -> None:
    """Refuse (UserError) a budget that allows no trial."""
    if not isinstance(trials, int) or trials < 1:
        raise UserError(
            f"The search budget of {trials!r} trials allows none.",
            expected="at least 1 trial (16 is a good start)",
            fix="give --budget-trials a positive whole number",
        )
    if not (isinstance(minutes, int | float) and math.isfinite(minutes) and minutes > 0):
        raise UserError(
            f"The search budget of {minutes!r} minutes allows none.",
            expected="a positive number of minutes (e.g. 30)",
            fix="give --budget-minutes a positive number",
        )


def _encode(value: Any) -> Any:
    """Tune reads lists in a configuration as nested settings: lists travel as text."""
    return ",".join(map(str, value)) if isinstance(value, list) else value


def _decode(name: str, value: Any, space: dict[str, Any]) -> Any:
    entry = space.get(name)
    if entry and entry[0] == "choice" and isinstance(entry[1][0], list):
        for option in entry[1]:
            if _encode(option) == value:
                return list(option)
        return [int(v) if v.isdigit() else v for v in str(value).split(",") if v]
    return value


def _domain(tune: Any, entry: tuple) -> Any:
    kind = entry[0]
    if kind == "choice":
        return tune.choice([_encode(v) for v in entry[1]])
    if kind == "uniform":
        return tune.uniform(entry[1], entry[2])
    return tune.loguniform(entry[1], entry[2])


class BestEpoch:
    """A trial's score so far, fed each epoch's Keras logs: the lowest validation loss and the
    validation AUC of that same epoch (binary outcomes: Keras' AUC metric, 200 thresholds).

    Early stopping restores the best-loss epoch's weights, so that epoch's AUC is the one the
    trial's network has; the highest AUC of any epoch would flatter it.
    """

    def __init__(self) -> None:
        self.loss = math.inf
        self.auc: float | None = None

    def update(self, logs: dict[str, Any]) -> dict[str, float]:
        """Take one epoch's logs; return what the trial reports to Tune for that epoch."""
        loss = float(logs[METRIC])
        if math.isfinite(loss) and loss < self.loss:  # the first lowest, as early stopping
            self.loss = loss
            auc = logs.get("val_auc")
            self.auc = float(auc) if auc is not None and math.isfinite(float(auc)) else None
        report = {METRIC: loss, "best_val_loss": self.loss}
        if self.auc is not None:
            report["best_val_auc"] = self.auc
        return report


def train_trial(
    config: dict[str, Any],
    dataset: Any,
    base: dict[str, Any] | None,
    space: dict[str, Any] | None,
    report: Any,
    deadline: float | None = None,
) -> Any:
    """Train one trial's network (base spec changed by ``config``), calling ``report(dict)`` at
    every epoch with its validation loss, best validation loss so far and (binary) that best
    epoch's validation AUC. Returns the TrainResult.

    A trial trains one network (no ensemble, no mirror averaging): its validation loss per epoch
    is what ASHA compares; the chosen settings are trained with the base's ensemble afterwards.
    ``deadline`` (a ``time.monotonic()`` value of this machine: the search's budget) stops
    training within a batch once passed; the cut epoch is still validated and reported with
    ``out_of_time`` true, so a search ends on time instead of at the end of its running trials'
    epochs.
    """
    from dlcore.models.spec import ModelSpec
    from dlcore.training.fit import train

    if space is None:
        space = IMAGE_SPACE if getattr(dataset, "kind", "table") == "images" else TABLE_SPACE
    decoded = {k: _decode(k, v, space) for k, v in config.items()}
    spec = ModelSpec.from_dict({**(base or {}), **decoded, "ensemble": 1, "test_time_flip": False})
    best = BestEpoch()

    def out_of_time() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def on_event(event: Any) -> None:
        if event.kind == "epoch" and METRIC in event.logs:
            report({**best.update(event.logs), "epoch": event.epoch, "out_of_time": out_of_time()})

    return train(dataset, spec, on_event=on_event, should_stop=out_of_time)


def cap_threads(threads: int) -> None:
    """Cap TensorFlow's thread pools in this process at ``threads`` (read once, when TensorFlow
    first loads) unless the operator set DLCORE_TF_THREADS; 0 leaves them as they are."""
    from dlcore.config import reset_settings

    if threads and "DLCORE_TF_THREADS" not in os.environ:
        os.environ["DLCORE_TF_THREADS"] = str(int(threads))
        reset_settings()


def _trial(
    config: dict[str, Any],
    dataset: Any = None,
    base: dict[str, Any] | None = None,
    space: dict[str, Any] | None = None,
    clock: Any = None,
    threads: int = 0,
) -> None:
    """One Tune trial: ``train_trial`` reporting every epoch to Tune. ``clock`` (a SearchClock
    actor) says how long the search's trials may still run, measured where it lives, so a node
    whose clock is set differently still stops on time; a trial that starts with no time left
    returns without training. ``threads`` (the trial's CPUs) caps TensorFlow's thread pools,
    which otherwise take every core of the node for each of the trials running on it at once."""
    import gc

    import ray
    from ray import tune

    from dlcore.models.keras_runtime import import_keras

    deadline = None
    if clock is not None:
        try:
            remaining = float(ray.get(clock.remaining.remote(), timeout=60))
        except Exception:  # the clock's node is gone: Tune's own budget still ends the search
            logger.warning("search trial: the search's clock did not answer; no deadline")
            remaining = math.inf
        if remaining <= 0:
            return  # started after the budget: no report, "not run (budget)"
        deadline = time.monotonic() + remaining if math.isfinite(remaining) else None
    cap_threads(threads)

    # Trials reuse their worker process: the previous trial's network and Keras state go first.
    import_keras().backend.clear_session()
    gc.collect()
    train_trial(config, dataset, base, space, tune.report, deadline)


def _watchers(
    space: dict[str, Any], on_trial: Any, should_stop: Any, max_epochs: int
) -> tuple[list, Any]:
    """Tune callbacks that report each trial as it goes (a live leaderboard) and a stopper
    that ends the whole search when ``should_stop()`` says so (a cancel)."""
    from ray.tune import Callback, Stopper

    class _Leaderboard(Callback):
        def __init__(self) -> None:
            self.numbers: dict[str, int] = {}

        def _send(self, trial: Any, status: str, result: dict | None = None) -> None:
            if on_trial is None:
                return
            number = self.numbers.setdefault(trial.trial_id, len(self.numbers) + 1)
            result = result or trial.last_result or {}
            score = result.get("best_val_loss")
            auc = result.get("best_val_auc")
            on_trial(
                {
                    "trial": number,
                    "settings": {k: _decode(k, trial.config.get(k), space) for k in space},
                    "val_loss": float(score) if score is not None else None,
                    "val_auc": float(auc) if auc is not None else None,
                    "epoch": int(result.get("epoch") or 0),
                    "status": status,
                }
            )

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            self._send(trial, "running", result)

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            self._send(trial, trial_status(trial.last_result or {}, None, max_epochs))

        def on_trial_error(self, iteration, trials, trial, **info) -> None:
            self._send(trial, "lost")

    class _Cancel(Stopper):
        def __call__(self, trial_id: str, result: dict) -> bool:
            return False

        def stop_all(self) -> bool:
            return bool(should_stop is not None and should_stop())

    return [_Leaderboard()], _Cancel()


class SearchClock:
    """The search's time left, on one clock: a Ray actor created when the search starts, asked
    by each trial as it starts (trials on other nodes then count down on their own monotonic
    clocks, so nodes whose wall clocks disagree still stop on time)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds the trials may still run (negative once the budget is spent)."""
        return self.end - time.monotonic()


def trials_time(minutes: float) -> float:
    """Seconds the trials may run within a budget of ``minutes``: the budget less what stopping
    them takes (the cut epoch's validation, Tune's shutdown: 6 s over 30 minutes on a
    PneumoniaMNIST search), reserved as 5% of the budget, at most 30 s."""
    budget = minutes * 60.0
    return budget - min(30.0, 0.05 * budget)


def trial_status(metrics: dict[str, Any], error: Any, max_epochs: int) -> str:
    """How a trial ended, from its last report: lost (an error: its node or process died, or
    Tune aborted it), not run (budget) (it started when the time was up and reported nothing),
    stopped at the budget (cut by the search's time), stopped early (by ASHA or early
    stopping, before ``max_epochs``) or finished."""
    if error is not None:
        return "lost"
    epochs = int(metrics.get("epoch") or 0)
    if epochs == 0:
        return NOT_RUN
    if metrics.get("out_of_time"):  # its last epoch ended by the budget (also the last one)
        return "stopped at the budget"
    if epochs < max_epochs and metrics.get("best_val_loss") is not None:
        return "stopped early"
    return "finished"


def error_reason(error: Any) -> str | None:
    """A lost trial's reason as people read it: the error's kind and its first line (at most
    160 characters), e.g. "ActorDiedError: the actor died unexpectedly"; None for no error."""
    if error is None:
        return None
    cause = getattr(error, "cause", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return f"{type(cause).__name__}: {first}"[:160].rstrip(": ")


def run_search(
    dataset: Any,
    base_spec: Any,
    *,
    trials: int = DEFAULT_TRIALS,
    minutes: float = DEFAULT_MINUTES,
    cpus_per_trial: float = 1.0,
    seed: int = 0,
    on_trial: Any = None,
    should_stop: Any = None,
    space: dict[str, Any] | None = None,
    resources: dict[str, float] | None = None,
) -> SearchResult:
    """Search the network's settings for ``dataset`` around ``base_spec`` on Ray Tune.

    Returns every trial and the settings with the lowest validation loss (the base spec's own
    settings are trial 1). ``on_trial`` receives each trial's progress (a dict) as it goes;
    ``should_stop()`` true ends the search (a cancel). Finished trials are kept when some are
    lost (a node died); the result lists the lost ones. ``space`` replaces the usual one
    (IMAGE_SPACE or TABLE_SPACE); ``resources`` adds Ray custom resources each trial needs (e.g.
    {"gpu_ward": 1} to keep trials on the nodes that have it). Raises UserError for a budget
    that allows no trial.
    """
    check_budget(trials, minutes)
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator

    from dlcore.config import get_settings
    from dlcore.training.ray_backend import ensure_ray

    ray = ensure_ray()
    if space is None:
        space = IMAGE_SPACE if getattr(dataset, "kind", "table") == "images" else TABLE_SPACE
    callbacks, stopper = _watchers(space, on_trial, should_stop, max(base_spec.epochs, 1))
    base = base_spec.to_dict()
    default_point = {k: base[k] for k in space}
    # The budget is the search's wall time: trials running at its end stop within a batch
    # (Tune's own time budget only stops trials when they next report, i.e. at an epoch's end);
    # Tune's budget is the whole one, a backstop that leaves the cut trials the reserve to
    # validate and report their last epoch.
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    clock = (
        ray.remote(num_cpus=0)(SearchClock)
        .options(  # beside this process (the search's driver), not on a node that may be lost
            scheduling_strategy=NodeAffinitySchedulingStrategy(
                ray.get_runtime_context().get_node_id(), soft=True
            )
        )
        .remote(trials_time(minutes))
    )
    ray.get(clock.remaining.remote())  # started before the first trial asks
    concurrent = max(
        1, int(max(1.0, float(ray.cluster_resources().get("CPU", 1))) // cpus_per_trial)
    )
    tuner = tune.Tuner(
        tune.with_resources(
            tune.with_parameters(
                _trial,
                dataset=dataset,
                base=base,
                space=space,
                clock=clock,
                threads=max(1, int(cpus_per_trial)),
            ),
            {"cpu": cpus_per_trial, **{str(k): float(v) for k, v in (resources or {}).items()}},
        ),
        param_space={k: _domain(tune, v) for k, v in space.items()},
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="min",
            num_samples=trials,
            scheduler=ASHAScheduler(
                time_attr="epoch",
                max_t=max(base_spec.epochs, 1),
                grace_period=min(5, max(base_spec.epochs, 1)),
                reduction_factor=3,
            ),
            search_alg=BasicVariantGenerator(
                points_to_evaluate=[{k: _encode(v) for k, v in default_point.items()}],
                max_concurrent=concurrent,
                random_state=seed,
            ),
            time_budget_s=minutes * 60.0,
            # a trial after the first on a worker reuses its process: TensorFlow is imported once
            # per worker, not once per trial (each trial seeds itself, so results do not change)
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=f"search-{int(time.time())}",
            storage_path=str(get_settings().home / "search"),
            verbose=0,
            log_to_file=False,
            callbacks=callbacks,
            stop=stopper,
        ),
    )
    started = time.perf_counter()
    # Tune's per-trial result files are off (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS): its analysis
    # then warns "Failed to fetch metrics" for every trial, although each trial's last result
    # (all this reads) is complete in memory. Its warnings are quietened for the fit only.
    analysis_log = logging.getLogger("ray.tune.analysis.experiment_analysis")
    level = analysis_log.level
    analysis_log.setLevel(logging.ERROR)
    try:
        grid = tuner.fit()
    finally:
        analysis_log.setLevel(level)
        try:
            ray.kill(clock)
        except Exception:  # already gone with its node
            logger.debug("search clock already gone")
    elapsed = time.perf_counter() - started
    found: list[SearchTrial] = []
    lost: list[int] = []
    for number, result in enumerate(grid, start=1):
        metrics = result.metrics or {}
        score = metrics.get("best_val_loss")
        best = float(score) if score is not None and math.isfinite(float(score)) else None
        auc = metrics.get("best_val_auc")
        auc = float(auc) if auc is not None and math.isfinite(float(auc)) else None
        epochs = int(metrics.get("epoch") or 0)
        settings = {k: _decode(k, result.config.get(k), space) for k in space}
        status = trial_status(metrics, result.error, base_spec.epochs)
        if status == "lost":
            lost.append(number)
        found.append(
            SearchTrial(number, settings, best, epochs, status, auc, error_reason(result.error))
        )
    # a lost trial's partial score is shown, not chosen: its settings never trained to the end
    scored = [t for t in found if t.val_loss is not None and t.status != "lost"]
    if not scored:
        raise UserError(
            f"No search trial finished an epoch ({len(lost)} lost of {len(found)}).",
            expected="at least one trial that trains",
            fix="raise --budget-minutes, or check the job logs for the reason",
        )
    best_trial = min(scored, key=lambda t: t.val_loss)
    default = next((t for t in found if t.settings == default_point), None)
    logger.info(
        "search: %d trials (%d lost) in %.0f s; best validation loss %.4f",
        len(found),
        len(lost),
        elapsed,
        best_trial.val_loss,
    )
    return SearchResult(
        trials=found,
        best_settings=best_trial.settings,
        best_val_loss=best_trial.val_loss,
        default_val_loss=default.val_loss if default else None,
        space=space,
        budget_trials=trials,
        budget_minutes=float(minutes),
        elapsed_s=elapsed,
        lost=lost,
        best_val_auc=best_trial.val_auc,
        default_val_auc=default.val_auc if default else None,
    )


def search_and_register(
    dataset: Any,
    base_spec: Any,
    *,
    trials: int = DEFAULT_TRIALS,
    minutes: float = DEFAULT_MINUTES,
    name: str | None = None,
    on_event: Any = None,
    should_stop: Any = None,
    on_trial: Any = None,
    actor: Any = None,
) -> tuple[Any, SearchResult | None]:
    """Search, then train the chosen settings through the usual pipeline (which touches the
    test split once) and record the search in the card. Returns (TrainOutcome, SearchResult);
    a cancelled search registers nothing (the outcome's record is None)."""
    from dlcore.governance.accounts import acting
    from dlcore.registry import update_card
    from dlcore.training.pipeline import TrainOutcome, train_and_register

    actor = acting(actor, "train")
    found = run_search(
        dataset,
        base_spec,
        trials=trials,
        minutes=minutes,
        on_trial=on_trial,
        should_stop=should_stop,
    )
    if should_stop is not None and should_stop():
        return TrainOutcome(None, None, None), found
    chosen = replace(base_spec, **found.best_settings)
    outcome = train_and_register(
        dataset, chosen, name=name, on_event=on_event, should_stop=should_stop, actor=actor
    )
    if outcome.record is not None:
        update_card(outcome.record.id, {"search": found.to_card()})
    return outcome, found
