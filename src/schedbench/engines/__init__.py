"""Training engines by name. Each implements :mod:`schedbench.engines.spec`.

``keras`` trains each run with ``keras.Model.fit`` (the reference); ``replica`` trains all runs of a job at
once as one batched TensorFlow program. Engines are imported when used: TensorFlow costs seconds to load.
"""

from __future__ import annotations

import importlib
import os
import sys

from schedbench.engines.spec import JobInputs, JobResult

# name -> module implementing ``train(JobInputs) -> JobResult``; the config schema lists the same names.
ENGINES = {
    "replica": "schedbench.engines.replica",
    "keras": "schedbench.engines.keras_fit",
}


def import_tensorflow():
    """``import tensorflow`` without the whole of Keras, when this process has not imported TensorFlow yet.

    TensorFlow's ``__init__`` imports ``keras.src.optimizers`` eagerly (to register Keras' optimizers for
    SavedModel), and with it all of Keras, scikit-learn and matplotlib: 2.5 of the 6 s a training job spends
    importing. It skips that import when ``TF_USE_LEGACY_KERAS`` is set (it then looks for ``tf_keras``, and goes on
    without it). The variable is set for the import only: ``tf.keras`` reads it when first used, and resolves to
    Keras 3 as usual; the Keras engine imports ``keras`` itself. A value the user set is left as it is.
    """
    if "tensorflow" in sys.modules or "TF_USE_LEGACY_KERAS" in os.environ:
        import tensorflow as tf

        return tf
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    try:
        import tensorflow as tf
    finally:
        del os.environ["TF_USE_LEGACY_KERAS"]
    return tf


def configure_tensorflow(threads: int) -> None:
    """Fix thread counts and op determinism before TensorFlow runs anything: reruns give the same bits."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf = import_tensorflow()

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised in this process (tests): the first setting stands
    tf.config.experimental.enable_op_determinism()


def device_text() -> str:
    """Where TensorFlow places the engines' arithmetic: its GPUs when it sees any (it places every op there by
    default; the engines pin nothing), else the CPU."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return ", ".join(gpu.name for gpu in gpus) if gpus else "CPU"


def run_engine(engine: str, inputs: JobInputs) -> JobResult:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (engines: {', '.join(ENGINES)})")
    configure_tensorflow(inputs.threads)
    return importlib.import_module(ENGINES[engine]).train(inputs)
