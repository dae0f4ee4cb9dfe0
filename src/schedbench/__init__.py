"""schedbench: a reproducible benchmark of learning-rate schedules (Keras 3 on TensorFlow, driven by Snakemake)."""

__version__ = "0.1.0"
