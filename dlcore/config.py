"""Settings read once from the environment: workspace folder, database URL, limits."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from dlcore.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """Where the engine keeps its files and how much it accepts."""

    home: Path
    database_url: str
    max_upload_mb: int
    max_rows: int
    max_concurrent_jobs: int
    tf_threads: int

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def datasets_dir(self) -> Path:
        return self.home / "datasets"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def _int_env(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"Environment variable {name} is {raw!r}.",
            expected="a whole number",
            fix=f"set {name} to a number such as {default}, or unset it",
        ) from None
    if value < minimum:
        raise ConfigError(
            f"Environment variable {name} is {value}.",
            expected=f"a number of at least {minimum}",
            fix=f"set {name} to {default} or more, or unset it",
        )
    return value


@functools.cache
def get_settings() -> Settings:
    """Return the settings, read once from the environment.

    ``DLCORE_HOME`` (default ``./workspace``), ``DLCORE_DATABASE_URL`` (default a SQLite file in
    the workspace), ``DLCORE_MAX_UPLOAD_MB`` (200), ``DLCORE_MAX_ROWS`` (1,000,000),
    ``DLCORE_MAX_CONCURRENT_JOBS`` (1), ``DLCORE_TF_THREADS`` (0 = TensorFlow's choice).
    Raises ConfigError on malformed values.
    """
    home = Path(os.environ.get("DLCORE_HOME") or "workspace").expanduser().resolve()
    database_url = os.environ.get("DLCORE_DATABASE_URL") or f"sqlite:///{home / 'dlcore.db'}"
    return Settings(
        home=home,
        database_url=database_url,
        max_upload_mb=_int_env("DLCORE_MAX_UPLOAD_MB", 200),
        max_rows=_int_env("DLCORE_MAX_ROWS", 1_000_000),
        max_concurrent_jobs=_int_env("DLCORE_MAX_CONCURRENT_JOBS", 1),
        tf_threads=_int_env("DLCORE_TF_THREADS", 0, minimum=0),
    )


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
