"""Bouthillier et al.'s reading of P(A>B), decided once here and carried as :class:`Reading`, never as text matched
by its words. The comparisons tables store a member's ``value``; :meth:`Reading.of` turns a stored cell back into
the member (a ValueError names any other text). The report puts members into words in one place
(:mod:`schedbench.report.wording`).
"""

from __future__ import annotations

import enum

__all__ = ["Reading"]


class Reading(enum.Enum):
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
    def of(cls, stored: str | Reading) -> Reading:
        """The member a table cell holds."""
        if isinstance(stored, cls):
            return stored
        try:
            return cls(stored)
        except ValueError:
            raise ValueError(f"reading {stored!r} is none of {[member.value for member in cls]}") from None

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
