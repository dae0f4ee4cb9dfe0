"""The figures of one dataset for the template: each PNG embedded as a data URI, with its title and alt text
from :data:`schedbench.figures.registry.FIGURES` and its caption rendered from reStructuredText.

A caption is written once, in ``workflow/report/<name>.rst``: Snakemake's report shows that file, and the HTML
report gets its text and renders it here with docutils.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping
from pathlib import Path

from docutils.core import publish_parts
from docutils.utils import SystemMessage
from docutils.writers import html5_polyglot
from markupsafe import Markup
from PIL import Image

from schedbench.figures.registry import (
    BUDGET_FIGURES,
    BY_NAME,
    FIGURES,
    SUITE_FIGURES,
    TUNING_FIGURES,
    figure_instances,
)
from schedbench.report.views import FigureView

_DOCUTILS = {
    "_disable_config": True,  # no docutils.conf of the machine or user: the same text gives the same HTML
    "file_insertion_enabled": False,  # a caption is text; it must not pull a file into the page
    "raw_enabled": False,  # nor raw HTML, which would escape the template's autoescaping
    "halt_level": 2,  # broken markup stops the report rather than printing docutils' error box into it
    "warning_stream": False,  # the exception carries the message
}


def render_caption(name: str, text: str) -> Markup:
    """The HTML of a figure's reStructuredText caption (the body only: paragraphs, emphasis, literals)."""
    try:
        body = publish_parts(text, source_path=f"{name}.rst", writer=html5_polyglot.Writer(),
                             settings_overrides=_DOCUTILS)["body"]
    except SystemMessage as error:
        raise ValueError(f"caption of figure {name!r} is not valid reStructuredText: {error}") from None
    return Markup(body.strip())


def render_captions(captions: Mapping[str, str]) -> dict[str, Markup]:
    """Every registered figure's caption as HTML; a figure without one is an error (its .rst is missing). The
    budget figures' captions are rendered when given: only a study with budgets draws them."""
    specs = (*FIGURES, *TUNING_FIGURES, *SUITE_FIGURES)
    missing = [spec.name for spec in specs if spec.name not in captions]
    if missing:
        raise ValueError(f"no caption for figure(s) {', '.join(missing)} (workflow/report/<name>.rst)")
    specs += tuple(spec for spec in BUDGET_FIGURES if spec.name in captions)
    return {spec.name: render_caption(spec.name, captions[spec.name]) for spec in specs}


# Colours of an embedded figure's palette: a figure has a few line colours and their antialiased edges, which 64
# colours keep indistinguishable at the displayed size, at about a quarter of the full-colour PNG's bytes (256
# colours: a third).
PALETTE_COLOURS = 64


def embedded_png(body: bytes) -> bytes:
    """A figure's PNG as the page embeds it: re-encoded with a palette of :data:`PALETTE_COLOURS` colours (median
    cut, deterministic: the same figure gives the same bytes), or unchanged when that is not smaller. The figure
    files themselves stay full colour."""
    with Image.open(io.BytesIO(body)) as image:
        palette = image.convert("RGB").quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=True)
    smaller = buffer.getvalue()
    return smaller if len(smaller) < len(body) else body


def data_uri(path: str | os.PathLike) -> str:
    """A figure file as a data URI of its :func:`embedded_png`, so the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(embedded_png(Path(path).read_bytes())).decode("ascii")


def figure_views(dataset: str, protocols: list[str], figures: Mapping[str, str | os.PathLike],
                 captions: Mapping[str, Markup]):
    """(figures drawn once per dataset, [(title, caption, one figure per protocol)], stems not produced)."""
    dataset_figures, missing = [], []
    per_protocol: dict[str, list[FigureView]] = {}
    for stem, spec, protocol in figure_instances(protocols):
        if stem not in figures or not Path(figures[stem]).exists():
            missing.append(stem)
        elif protocol is None:
            dataset_figures.append(FigureView(spec.title, captions[spec.name], f"{spec.alt} ({dataset}).",
                                              data_uri(figures[stem])))
        else:
            per_protocol.setdefault(spec.name, []).append(FigureView(
                f"{spec.title} ({protocol})", captions[spec.name], f"{spec.alt} ({dataset}, {protocol} protocol).",
                data_uri(figures[stem]), protocol))
    # One block per figure, its protocols side by side.
    protocol_figures = [(BY_NAME[name].title, captions[name], items) for name, items in per_protocol.items()]
    return dataset_figures, protocol_figures, missing
