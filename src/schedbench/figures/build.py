"""Draw every figure of one dataset and write them as PNG files, in the order of the registry."""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from matplotlib.figure import Figure

from schedbench.atomic import atomic_write_bytes
from schedbench.figures.data import FigureData
from schedbench.figures.registry import figure_instances
from schedbench.figures.style import figure_png


def _draw_function(spec):
    module, function = spec.draw.split(":")
    return getattr(importlib.import_module(f"schedbench.figures.{module}"), function)


def build_figures(data: FigureData) -> dict[str, Figure]:
    """Every figure, keyed by its file stem, in report order."""
    return {stem: _draw_function(spec)(data, protocol) for stem, spec, protocol in figure_instances(data.protocols)}


def save_figures(settings: dict, tables: dict, out_dir: str | Path, *, processes: int = 1) -> dict[str, Path]:
    """Write every figure as ``out_dir/<stem>.png`` atomically; return {stem: path} in report order.

    With ``processes`` > 1 that many forked workers draw the figures, one figure at a time each: drawing is
    matplotlib's own Python, one core per process. The files are the same bytes either way."""
    data = FigureData.load(settings, tables)
    instances = figure_instances(data.protocols)
    jobs = [(data, stem, spec, protocol, Path(out_dir)) for stem, spec, protocol in instances]
    processes = min(processes, len(jobs))
    if processes > 1 and "fork" in multiprocessing.get_all_start_methods():
        # Forked, not spawned: a worker starts with the plotting libraries imported and the tables read.
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_hold, initargs=(jobs,)) as pool:
            paths = list(pool.map(_save_held, range(len(jobs))))
    else:
        paths = [_save(*job) for job in jobs]
    return {stem: path for (stem, _, _), path in zip(instances, paths)}


def _save(data: FigureData, stem: str, spec, protocol: str | None, out_dir: Path) -> Path:
    path = out_dir / f"{stem}.png"
    atomic_write_bytes(path, figure_png(_draw_function(spec)(data, protocol)))
    return path


_HELD: list = []


def _hold(jobs: list) -> None:
    _HELD[:] = jobs  # a forked worker's arguments arrive without pickling: only an index is sent per figure


def _save_held(index: int) -> Path:
    return _save(*_HELD[index])
