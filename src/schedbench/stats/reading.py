"""Bouthillier et al.'s reading of P(A>B), decided once here and carried as :class:`Reading`, never as text matched
by its words; and the one :class:`Decision` per pair (:func:`decide_pair`) that the page verdicts and the suite's
win / tie / loss share. The comparisons tables store a member's ``value``; ``of`` turns a stored cell back into
the member (a ValueError names any other text). The report puts members into words in one place
(:mod:`schedbench.report.wording`).
"""

from __future__ import annotations

import enum
import math

__all__ = ["Reading", "Decision", "reliable_direction", "decide_pair", "band_examples", "DEFAULT_EQUIVALENCE_EXAMPLES"]

# The band when the configuration sets neither report.equivalence_examples nor report.equivalence_points.
DEFAULT_EQUIVALENCE_EXAMPLES = 1

# Comparing differences in examples (multiples of 1 / n_pairs) with the band, as the equivalence call does.
_TOLERANCE = 1e-9


class _Stored(enum.Enum):
    """An enum whose members the tables store as their ``value``."""

    @classmethod
    def of(cls, stored):
        """The member a table cell holds."""
        if isinstance(stored, cls):
            return stored
        try:
            return cls(stored)
        except ValueError:
            raise ValueError(f"{cls.__name__.lower()} {stored!r} is none of {[m.value for m in cls]}") from None


class Reading(_Stored):
    """The reading of one comparison of A with B, from P(A>B) and its family-level interval [low, high].

    significant: low > 0.5 and the family's Holm-adjusted sign-flip test agrees (p_holm < alpha);
    meaningful: P(A>B) > 0.75. The ``B_`` members are the same calls for B (high < 0.5; P(A>B) < 0.25).
    """

    SIGNIFICANT_AND_MEANINGFUL = "significant and meaningful"
    SIGNIFICANT = "significant"
    MEANINGFUL = "meaningful"
    NEITHER = "neither"
    B_SIGNIFICANT_AND_MEANINGFUL = "b significant and meaningful"
    B_SIGNIFICANT = "b significant"
    B_MEANINGFUL = "b meaningful"

    @classmethod
    def decide(cls, p: float, low: float, high: float, significant: bool) -> Reading:
        """The reading of P(A>B) = ``p`` with its family-level interval [``low``, ``high``]; ``significant``: the
        family's adjusted test agrees, so that no pair reads significant while its adjusted p says otherwise.
        An undefined P (NaN) reads NEITHER."""
        a_sig, a_mean = low > 0.5 and significant, p > 0.75
        b_sig, b_mean = high < 0.5 and significant, p < 0.25
        if a_sig or a_mean:
            return cls.SIGNIFICANT_AND_MEANINGFUL if a_sig and a_mean else (cls.SIGNIFICANT if a_sig else cls.MEANINGFUL)
        if b_sig or b_mean:
            return (cls.B_SIGNIFICANT_AND_MEANINGFUL if b_sig and b_mean
                    else (cls.B_SIGNIFICANT if b_sig else cls.B_MEANINGFUL))
        return cls.NEITHER

    @property
    def winner(self) -> int:
        """+1 when the reading shows A better (significant for A), -1 when it shows B better, 0 otherwise
        (meaningful alone is no win: its interval reaches 0.5)."""
        if self in (Reading.SIGNIFICANT_AND_MEANINGFUL, Reading.SIGNIFICANT):
            return 1
        if self in (Reading.B_SIGNIFICANT_AND_MEANINGFUL, Reading.B_SIGNIFICANT):
            return -1
        return 0

    def mirrored(self) -> Reading:
        """The same reading with A and B swapped."""
        return _MIRRORED[self]


_MIRRORED = {
    Reading.SIGNIFICANT_AND_MEANINGFUL: Reading.B_SIGNIFICANT_AND_MEANINGFUL,
    Reading.SIGNIFICANT: Reading.B_SIGNIFICANT,
    Reading.MEANINGFUL: Reading.B_MEANINGFUL,
    Reading.NEITHER: Reading.NEITHER,
}
_MIRRORED.update({b: a for a, b in list(_MIRRORED.items())})


class Decision(_Stored):
    """The one reading of a pair A against B that every sentence and count uses (:func:`decide_pair`)."""

    BETTER = "better"  # A reliably better, and not shown to lie inside the equivalence band
    BETTER_NEGLIGIBLE = "better, negligible"  # A reliably better, but the whole difference lies inside the band
    EQUIVALENT = "equivalent"  # no reliable difference, and the whole difference lies inside the band
    INCONCLUSIVE = "inconclusive"  # neither a reliable difference nor equivalence shown
    WORSE_NEGLIGIBLE = "worse, negligible"  # B reliably better, but the whole difference lies inside the band
    WORSE = "worse"  # B reliably better, and not shown to lie inside the band

    @property
    def tie(self) -> bool:
        """Counted as a tie across datasets: equal within the band, whether or not a difference is reliable."""
        return self in (Decision.EQUIVALENT, Decision.BETTER_NEGLIGIBLE, Decision.WORSE_NEGLIGIBLE)

    def mirrored(self) -> Decision:
        """The same decision with A and B swapped."""
        return _MIRRORED_DECISION[self]


_MIRRORED_DECISION = {
    Decision.BETTER: Decision.WORSE, Decision.BETTER_NEGLIGIBLE: Decision.WORSE_NEGLIGIBLE,
    Decision.EQUIVALENT: Decision.EQUIVALENT, Decision.INCONCLUSIVE: Decision.INCONCLUSIVE,
}
_MIRRORED_DECISION.update({b: a for a, b in list(_MIRRORED_DECISION.items())})


def _finite(x: float) -> bool:
    return x is not None and math.isfinite(x)


def reliable_direction(reading: Reading, p_holm: float, p_t_corrected_holm: float, diff_low_adj: float,
                       diff_high_adj: float, alpha: float) -> int:
    """+1 when A is reliably better than B, -1 when B is, 0 otherwise: the bar the report calls "convincingly".

    For A: the reading is significant for A (P(A>B)'s family-level interval above 0.5 and the Holm-adjusted
    sign-flip test agrees), the Holm-adjusted sign-flip p < alpha, the family-level difference interval above 0,
    and, where Nadeau and Bengio's corrected t exists (resplit; NaN elsewhere), its Holm-adjusted p < alpha too.
    For B the mirror (reading significant for B, interval below 0)."""
    tested = _finite(p_holm) and p_holm < alpha
    corrected = not _finite(p_t_corrected_holm) or p_t_corrected_holm < alpha
    if not (tested and corrected):
        return 0
    if reading.winner > 0 and _finite(diff_low_adj) and diff_low_adj > 0:
        return 1
    if reading.winner < 0 and _finite(diff_high_adj) and diff_high_adj < 0:
        return -1
    return 0


def band_examples(n, *, equivalence_examples: float | None = None, equivalence_points: float | None = None):
    """The equivalence band's half-width in examples for a comparison made on ``n`` rows (a number, or an array).

    band = ``equivalence_points`` / 100 * n when the band is set in points of accuracy, else
    ``equivalence_examples`` (:data:`DEFAULT_EQUIVALENCE_EXAMPLES` when neither is set). A band set in points may
    be a fractional number of examples: the equivalence call compares it with the interval of a mean difference,
    which lies on a continuous scale, so no rounding is needed (or done). Both set is a ValueError naming both.
    """
    if equivalence_examples is not None and equivalence_points is not None:
        raise ValueError("the equivalence band is set twice: give equivalence_examples or equivalence_points, "
                         "not both")
    if equivalence_points is not None:
        return equivalence_points / 100.0 * n
    return DEFAULT_EQUIVALENCE_EXAMPLES if equivalence_examples is None else equivalence_examples


def decide_pair(reading: Reading | str, p_holm: float, p_t_corrected_holm: float, diff_low_adj_examples: float,
                diff_high_adj_examples: float, *, alpha: float, equivalence_examples: float, n_pairs: int,
                equivalence_min_seeds: int) -> Decision:
    """The decision for A against B from one comparison row's facts.

    ``reading``, ``p_holm``, ``p_t_corrected_holm``: the row's columns; the difference interval is the row's
    family-level (Bonferroni) one, in examples; ``alpha`` the configured level (1 - confidence); the band is
    +/- ``equivalence_examples``. "Reliable" is :func:`reliable_direction`; "inside the band" means the whole
    family-level interval lies in [-band, +band] over at least ``equivalence_min_seeds`` pairs (the
    comparisons table's ``equivalent`` call: with fewer seeds no claim of smallness is made).

    ==================  ====================  =================
    reliable direction  interval inside band  decision
    ==================  ====================  =================
    A better (+1)       no (or too few seeds) BETTER
    A better (+1)       yes                   BETTER_NEGLIGIBLE
    none (0)            yes                   EQUIVALENT
    none (0)            no (or too few seeds) INCONCLUSIVE
    B better (-1)       yes                   WORSE_NEGLIGIBLE
    B better (-1)       no (or too few seeds) WORSE
    ==================  ====================  =================

    So a pair is never both better and equivalent: a reliable difference inside the band is "negligible".
    """
    direction = reliable_direction(Reading.of(reading), p_holm, p_t_corrected_holm, diff_low_adj_examples,
                                   diff_high_adj_examples, alpha)
    inside = bool(
        n_pairs >= equivalence_min_seeds and _finite(diff_low_adj_examples) and _finite(diff_high_adj_examples)
        and diff_low_adj_examples >= -equivalence_examples - _TOLERANCE
        and diff_high_adj_examples <= equivalence_examples + _TOLERANCE
    )
    if direction > 0:
        return Decision.BETTER_NEGLIGIBLE if inside else Decision.BETTER
    if direction < 0:
        return Decision.WORSE_NEGLIGIBLE if inside else Decision.WORSE
    return Decision.EQUIVALENT if inside else Decision.INCONCLUSIVE
