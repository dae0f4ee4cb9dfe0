"""Numbers as the report prints them: percentages, counts of examples, intervals, p-values (exact, or Monte Carlo
with its floor and standard error).

Every function accepts whatever a table cell holds (float, NaN, None, numpy scalar) and prints 'n/a' for a
missing number, so a half-empty table renders instead of failing.
"""

from __future__ import annotations

import math

from markupsafe import Markup


def finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def pct(x, digits: int = 2) -> str:
    """0.96121 -> '96.12 %'."""
    return f"{float(x) * 100:.{digits}f} %" if finite(x) else "n/a"


def count(k) -> str:
    """A count of examples: an integer when it is one, else one decimal (a mean)."""
    if not finite(k):
        return "n/a"
    k = float(k)
    # Accuracies pass through float32 in training: 109/116 may come back as 109.0000014 examples.
    return f"{k:.0f}" if abs(k - round(k)) < 1e-4 else f"{k:.1f}"


def pct_k(x, n_val: int, digits: int = 2) -> str:
    """0.99138, 116 -> '99.14 % (115/116)'."""
    if not finite(x):
        return "n/a"
    return f"{pct(x, digits)} ({count(float(x) * n_val)}/{n_val})"


def interval(low, high, scale: float = 100.0, digits: int = 2, unit: str = "", signed: bool = False) -> str:
    """An interval as '[low, high]' (scaled, e.g. fractions to percent)."""
    if not (finite(low) and finite(high)):
        return "n/a"
    sign = "+" if signed else ""
    return f"[{float(low) * scale:{sign}.{digits}f}, {float(high) * scale:{sign}.{digits}f}]{unit}"


def signed(x, digits: int = 2, scale: float = 1.0) -> str:
    return f"{float(x) * scale:+.{digits}f}" if finite(x) else "n/a"


def pvalue(p) -> str:
    if not finite(p):
        return "n/a"
    p = float(p)
    if p == 0:
        return "0"  # a standard error of 0 (p = 0 or 1), not '0.0e+00'
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.3f}"


def monte_carlo_floor(resamples: int) -> float:
    """The smallest two-sided p a Monte Carlo test with R resamples gives: 2 * (0 + 1) / (R + 1)."""
    return min(1.0, 2.0 / (resamples + 1))


def pvalue_mc(p, exact: bool = True, resamples: int = 0) -> str:
    """A test's p-value with how it was obtained. Exact: as :func:`pvalue`. Monte Carlo with R resamples: the
    estimate cannot go below its floor 2 / (R + 1), so a p at the floor reads '< floor' (the true p may be any
    smaller value), and the binomial standard error sqrt(p (1 - p) / R) follows, so the reader sees how many
    digits to trust."""
    if exact or not finite(p):
        return pvalue(p)
    p = float(p)
    if not resamples or resamples <= 0:
        return f"{pvalue(p)} (Monte Carlo)"  # without R neither the floor nor the error is known
    floor = monte_carlo_floor(resamples)
    shown = f"< {pvalue(floor)}" if p <= floor * (1 + 1e-9) else pvalue(p)
    return f"{shown} (Monte Carlo, SE {pvalue(math.sqrt(p * (1.0 - p) / resamples))})"


def number(x, digits: int = 2) -> str:
    """A plain number; +inf reads 'never' (epochs to a target that was never reached)."""
    if x is None:
        return "n/a"
    try:
        if math.isinf(float(x)):
            return "never" if float(x) > 0 else "-inf"
    except (TypeError, ValueError):
        return "n/a"
    return f"{float(x):.{digits}f}" if finite(x) else "n/a"


def bold(text) -> Markup:
    return Markup("<strong>{}</strong>").format(text)


def percent_label(fraction: float) -> str:
    """0.95 -> '95 %', as in 'the 95 % interval'; Bonferroni levels to four digits (1 - 0.05/3 -> '98.33 %')."""
    return f"{fraction * 100:.4g} %"


def flagged(text: str, degenerate, words: str = "degenerate") -> str:
    """An interval's text with ``words`` after it when the table flags it degenerate (zero width over several
    seeds): such an interval shows the grid of whole examples, not certainty, and a reader must not take it for
    a precise estimate."""
    return f"{text} {words}" if bool(degenerate) and text != "n/a" else text
