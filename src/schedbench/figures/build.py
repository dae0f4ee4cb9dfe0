"""Draw every figure of one dataset and write them as PNG files, in the order of the registry."""

from __future__ import annotations

import importlib
from pathlib import Path

from matplotlib.figure import Figure

from schedbench.atomic import atomic_write_bytes
from schedbench.figures.data import FigureData
from schedbench.figures.registry import figure_instances
from schedbench.figures.style import figure_png
from schedbench.forked import forked_map


def _draw_function(spec):
    module, function = spec.draw.split(":")
    return getattr(importlib.import_module(f"schedbench.figures.{module}"), function)


def build_figures(data: FigureData) -> dict[str, Figure]:
    """Every figure, keyed by its file stem, in report order."""
    return {stem: _draw_function(spec)(data, protocol) for stem, spec, protocol in figure_instances(data.protocols)}


def save_figures(settings: dict, tables: dict, out_dir: str | Path, *, processes: int = 1) -> dict[str, Path]:
    """Write every figure as ``out_dir/<stem>.png`` atomically; return {stem: path} in report order. With
    ``processes`` > 1 that many forked workers draw them, one figure at a time each; the files are the same bytes."""
    data = FigureData.load(settings, tables)
    instances = figure_instances(data.protocols)

    def save(instance) -> Path:
        stem, spec, protocol = instance
        path = Path(out_dir) / f"{stem}.png"
        atomic_write_bytes(path, figure_png(_draw_function(spec)(data, protocol)))
        return path

    return {stem: path for (stem, _, _), path in zip(instances, forked_map(save, instances, processes))}
