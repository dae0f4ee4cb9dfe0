"""The HTML report: one self-contained file that answers "which schedule is better, by how much, how sure?".

It only words and formats numbers other rules computed: the statistics rule's tables (read with
:func:`schedbench.tables.read_table`), the figures' PNG files and their reStructuredText captions. Modules:
:mod:`.format` (numbers as text), :mod:`.verdict` (the verdict's facts), :mod:`.wording` (its words),
:mod:`.views` (what the template shows, the result tables), :mod:`.captions` (figures and captions),
:mod:`.methods` (the design, from the plan), :mod:`.provenance` (data, code, machine, run time) and
:mod:`.render` (the entry point).
"""

from schedbench.report.render import render_report

__all__ = ["render_report"]
