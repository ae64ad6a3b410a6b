"""The Keras runtime: imported lazily, configured once (quiet logs, thread counts, seeds)."""

from __future__ import annotations

import logging
import os
import threading
from types import ModuleType

logger = logging.getLogger(__name__)
_configured = False
_lock = threading.Lock()


def import_keras() -> ModuleType:
    """Import and return Keras on the TensorFlow backend, configuring TensorFlow on first use.

    Thread counts come from ``DLCORE_TF_THREADS`` (0 leaves TensorFlow's choice) and must be set
    before TensorFlow runs its first operation, which is why every import goes through here.
    """
    global _configured
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    if not _configured:
        with _lock:
            if not _configured:
                _configure_tensorflow()
                _configured = True
    return keras


def _configure_tensorflow() -> None:
    import tensorflow as tf

    from dlcore.config import get_settings

    threads = get_settings().tf_threads
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            logger.debug("TensorFlow already initialised; thread counts left as they are")
    tf.get_logger().setLevel(logging.ERROR)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``)."""
    import_keras().utils.set_random_seed(int(seed))
