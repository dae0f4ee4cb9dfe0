"""The glossary every page carries: one sentence for each term the verdicts use.

The protocols are described by their registry (:data:`schedbench.protocols.PROTOCOLS`, through
:func:`schedbench.report.methods.protocol_description`), so a protocol is worded in one place; the other terms are
defined here, and the Methods section gives their formulas.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from schedbench.plan import Plan
from schedbench.protocols import PROTOCOLS
from schedbench.report.methods import protocol_description

# (term, its sentence), in the order a reader meets them on a page.
TERMS: tuple[tuple[str, str], ...] = (
    ("family", "A schedule's formula (constant, time-decay, drop-decay, ...) with its optimizer settings; a tuning "
               "study runs every family over the same grid of initial rates and optimizer settings."),
    ("variant", "One point of a family: the family with one set of parameters (initial rate, momentum, ...), trained "
                "on every seed."),
    ("control", "The baseline's formula trained with another schedule's optimizer settings on the same seeds, so "
                "the schedule's difference from the baseline splits into an optimizer part and a schedule part."),
    ("P(A>B)", "The probability of improvement over paired seeds, (wins + ties/2) / seeds, in Bouthillier et al.'s "
               "reading: A is significantly better when its interval lies above 0.5, meaningfully when P(A>B) > 0.75."),
    ("IQM", "The interquartile mean: the mean of the middle half of the runs (25 % trimmed at each end), less "
            "moved by a single odd seed than the mean."),
    ("Pratt", "Pratt's treatment of zero differences in a signed-rank statistic (Wilcoxon's test, the rank-biserial "
              "effect size): ties are ranked and counted rather than dropped."),
    ("CD (critical difference)", "The smallest difference of mean ranks across datasets that the Nemenyi test calls "
                                 "significant; two schedules closer in mean rank cannot be told apart."),
    ("MDE", "The minimum detectable effect: the smallest mean paired difference the design would detect with 80 % "
            "power at the family's alpha, from the observed spread of the paired differences."),
    ("practically equivalent", "The family-level interval of the mean difference lies inside the equivalence band "
                               "(+/- the configured number of examples) over enough paired seeds."),
    ("negligible", "Reliably better (or worse), but by less than the equivalence band: a real difference too small "
                   "to matter."),
    ("inconclusive", "Neither a difference nor equivalence is shown: the interval reaches both outside the band and "
                     "across zero; the MDE says how large a difference the design could have found."),
)


# A parenthesis of a protocol's description that holds a row count, '({n_val} rows)': dropped for a protocol the
# page's datasets do not run, which has no count to fill it with.
_ROW_COUNT = re.compile(r" \([^()]*\{n_(?:val|test)\}[^()]*\)")


def glossary(plan: Plan, datasets: Sequence[str]) -> list[tuple[str, str]]:
    """(term, sentence) for every protocol, with the row counts of ``datasets`` where it runs on them (without
    counts where it does not), then :data:`TERMS`."""
    protocols = []
    for name, protocol in PROTOCOLS.items():
        used = [d for d in datasets if name in plan.datasets[d].sizes]
        text = (protocol_description(plan, name, used) if used else
                _ROW_COUNT.sub("", protocol.description).format())
        protocols.append((name, text[:1].upper() + text[1:] + "."))
    return [*protocols, *TERMS]
