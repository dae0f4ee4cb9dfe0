"""Record the per-update rates of every schedule the repository's config.yaml trains, and of one entry of each
formula type over a few run shapes, as SHA-256 digests of their float64 bytes: catalogue_rates.json.

Recorded with the code before the generic warm-up and the run-length horizon came in (commit fd80527), so that
tests/test_schedules_today.py can show that every existing schedule still gives the same rates, bit for bit:

    PYTHONPATH=<a checkout of fd80527>/src python tests/reference/record_catalogue_rates.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from schedbench import studies
from schedbench.config import validate_config
from schedbench.plan import dataset_training, updates_per_epoch
from schedbench.schedules import build_schedule

HERE = Path(__file__).resolve().parent
OUT = HERE / "catalogue_rates.json"

# One entry of each formula type (the catalogue lacks most), each over every run shape of RUN_SHAPES.
TYPE_SPECS = {
    "constant": {"type": "constant", "lr0": 0.1},
    "inverse_time-update": {"type": "inverse_time", "lr0": 0.1, "decay": 0.002, "per": "update"},
    "inverse_time-epoch": {"type": "inverse_time", "lr0": 0.1, "decay": 0.001, "per": "epoch"},
    "step": {"type": "step", "lr0": 0.1, "drop": 0.5, "epochs_drop": 10.0},
    "piecewise": {"type": "piecewise", "boundaries": [100, 300], "values": [0.1, 0.05, 0.01], "per": "update"},
    "exponential": {"type": "exponential", "lr0": 0.1, "decay_rate": 0.96, "decay_steps": 45, "staircase": True,
                    "per": "update"},
    "polynomial": {"type": "polynomial", "lr0": 0.1, "end_lr": 0.0001, "decay_steps": 300, "power": 2.0,
                   "per": "update"},
    "polynomial-cycle": {"type": "polynomial", "lr0": 0.1, "end_lr": 0.001, "decay_steps": 100, "power": 1.0,
                         "cycle": True, "per": "update"},
    "cosine": {"type": "cosine", "lr0": 0.1, "decay_steps": 450, "alpha": 0.01, "per": "update"},
    "cosine-warmup": {"type": "cosine", "lr0": 0.01, "decay_steps": 405, "alpha": 0.0, "warmup_steps": 45,
                      "warmup_target": 0.1, "per": "update"},
    "cosine-target-only": {"type": "cosine", "lr0": 0.1, "decay_steps": 450, "warmup_steps": 0,
                           "warmup_target": 0.2, "per": "update"},
    "cosine-epoch": {"type": "cosine", "lr0": 0.1, "decay_steps": 40, "per": "epoch"},
    "cosine_restarts": {"type": "cosine_restarts", "lr0": 0.1, "first_decay_steps": 90, "t_mul": 2.0,
                        "m_mul": 0.8, "alpha": 0.01, "per": "update"},
    "cyclical": {"type": "cyclical", "base_lr": 0.001, "max_lr": 0.1, "step_size": 45, "mode": "exp_range",
                 "gamma": 0.999, "per": "update"},
    "one_cycle": {"type": "one_cycle", "max_lr": 0.1, "total_steps": 450, "three_phase": True, "per": "update"},
    "reduce_on_plateau": {"type": "reduce_on_plateau", "lr0": 0.1},
}
RUN_SHAPES = [(50, 9), (7, 13), (1, 1)]


def digest(rates) -> str:
    return hashlib.sha256(rates.astype("<f8").tobytes()).hexdigest()


def catalogue_records(config: dict) -> dict:
    """Keyed by the first study, variant and dataset that train each distinct (schedule, run shape)."""
    records, seen = {}, set()
    for study, settings in config["studies"].items():
        for variant in studies.variants(config, study):
            for dataset in settings["datasets"]:
                for protocol in settings["protocols"]:
                    epochs = dataset_training(config, dataset)["epochs"]
                    spe = updates_per_epoch(config, dataset, protocol)
                    # The optimizer block is not the schedule's: its rates are the same whatever it holds.
                    spec = {key: value for key, value in variant.spec.items() if key != studies.OPTIMIZER}
                    if (studies.identity(spec), epochs, spe) in seen:
                        continue
                    seen.add((studies.identity(spec), epochs, spe))
                    rates = build_schedule(variant.name, spec).rates(epochs, spe)
                    records[f"{study}/{variant.name}/{dataset}/{protocol}"] = {
                        "spec": spec, "epochs": epochs, "steps_per_epoch": spe, "sha256": digest(rates)}
    return records


def type_records() -> dict:
    records = {}
    for name, spec in TYPE_SPECS.items():
        for epochs, spe in RUN_SHAPES:
            rates = build_schedule(name, dict(spec)).rates(epochs, spe)
            records[f"{name}/{epochs}x{spe}"] = {"spec": spec, "epochs": epochs, "steps_per_epoch": spe,
                                                  "sha256": digest(rates)}
    return records


def main():
    with open(HERE.parent.parent / "config.yaml", encoding="utf-8") as handle:
        config = validate_config(yaml.safe_load(handle))
    records = {"catalogue": catalogue_records(config), "types": type_records()}
    OUT.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
