"""The facts of one (dataset, protocol)'s verdict (:func:`decide`); :mod:`.wording` puts them into words.

:func:`decide` reads the summary and comparison tables the statistics rule wrote and picks out what the verdict
rests on: the best schedule, the comparison of the leader with the baseline, which schedules beat the baseline
convincingly, which rivals the leader does not separate from. It returns plain data, no markup, so the decision
can be tested apart from its wording.

One multiplicity rule: the statistics rule groups comparisons into families (within a dataset and protocol, the
comparisons with the baseline, and the other pairs), Holm-adjusts their p-values and takes the intervals the
reading and the equivalence call rest on at the Bonferroni level 1 - alpha / m (the ``*_adj`` columns). Every
call made here uses those adjusted numbers, and "convincing" asks for the adjusted interval and the adjusted
p-values together, so within a family no call the verdict makes contradicts a number it prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd

from schedbench.stats.reading import Decision, Reading, reliable_direction

# Bouthillier et al.: paired runs needed to detect P(A>B) = 0.75 at alpha = beta = 0.05 (Noether's rule). Also the
# default of report.equivalence_min_seeds: with fewer, a moderate difference can hide inside the equivalence band.
NOETHER_RUNS = 29
# An exact sign or rank test over n seeds cannot give p below 2^(1 - n); said out loud up to this many seeds.
FEW_SEEDS = 5
# Comparing accuracies (multiples of 1/n_val, times n_val) with the band in examples, as the statistics rule does.
_TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------------------
# facts
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    """One row of the comparison table read as 'a against b' (the columns the verdict uses).

    The plain intervals (``diff_ci_*``, ``p_a_better_ci_*``) describe; the ``*_adj`` ones, at the family's
    Bonferroni level, decide. ``p_t_corrected*`` are NaN except under resplit."""

    a: str
    b: str
    n_pairs: int
    mean_diff: float
    mean_diff_examples: float
    diff_ci_low: float
    diff_ci_high: float
    wins: int
    ties: int
    losses: int
    p_a_better: float
    p_a_better_ci_low: float
    p_a_better_ci_high: float
    reading: Reading
    p_holm: float
    equivalent: bool
    family_size: int
    diff_ci_low_adj: float
    diff_ci_high_adj: float
    diff_ci_degenerate: bool
    p_a_better_ci_low_adj: float
    p_a_better_ci_high_adj: float
    p_sign_flip: float
    p_sign_flip_exact: bool
    p_t_corrected: float
    p_t_corrected_holm: float
    confidence_adj: float  # the family's Bonferroni level, at which the *_adj intervals were taken
    decision: Decision  # the one reading of the pair (schedbench.stats.reading.decide_pair)
    mde_examples: float  # the smallest mean difference the design detects with 80 % power (NaN: undefined)

    def convincing(self, alpha: float) -> bool:
        """A beats B convincingly: P(A>B)'s family-level interval above 0.5 (the reading, already adjusted),
        Holm-adjusted sign-flip p below alpha, family-level difference interval above zero, and, where the
        corrected t exists (resplit), its Holm-adjusted p below alpha too: a gain on these seeds' splits that
        new data from the same distribution might not show is not convincing."""
        return reliable_direction(self.reading, self.p_holm, self.p_t_corrected_holm, self.diff_ci_low_adj,
                                  self.diff_ci_high_adj, alpha) > 0

    def flipped(self) -> Pair:
        """The same comparison read as 'b against a': differences and their intervals change sign (and the
        bounds trade places), P(A>B) becomes 1 - P with its interval [1 - high, 1 - low], wins and losses trade
        places, the reading mirrors; the two-sided p-values and the family stay."""
        return replace(
            self, a=self.b, b=self.a, mean_diff=-self.mean_diff, mean_diff_examples=-self.mean_diff_examples,
            diff_ci_low=-self.diff_ci_high, diff_ci_high=-self.diff_ci_low, wins=self.losses, losses=self.wins,
            p_a_better=1.0 - self.p_a_better, p_a_better_ci_low=1.0 - self.p_a_better_ci_high,
            p_a_better_ci_high=1.0 - self.p_a_better_ci_low, reading=self.reading.mirrored(),
            diff_ci_low_adj=-self.diff_ci_high_adj, diff_ci_high_adj=-self.diff_ci_low_adj,
            p_a_better_ci_low_adj=1.0 - self.p_a_better_ci_high_adj,
            p_a_better_ci_high_adj=1.0 - self.p_a_better_ci_low_adj, decision=self.decision.mirrored(),
        )


_FLOATS = ("mean_diff", "mean_diff_examples", "diff_ci_low", "diff_ci_high", "p_a_better", "p_a_better_ci_low",
           "p_a_better_ci_high", "p_holm", "diff_ci_low_adj", "diff_ci_high_adj", "p_a_better_ci_low_adj",
           "p_a_better_ci_high_adj", "p_sign_flip", "p_t_corrected", "p_t_corrected_holm", "confidence_adj",
           "mde_examples")


def _pair(row: Mapping) -> Pair:
    values = {name: float(row[name]) for name in _FLOATS}
    values.update({name: int(row[name]) for name in ("n_pairs", "wins", "ties", "losses", "family_size")})
    values.update({name: bool(row[name]) for name in ("equivalent", "diff_ci_degenerate", "p_sign_flip_exact")})
    return Pair(a=row["a"], b=row["b"], reading=Reading.of(row["reading"]), decision=Decision.of(row["decision"]),
                **values)


def oriented(comparisons: pd.DataFrame, a: str, b: str) -> Pair | None:
    """The comparison of a against b. The table holds each pair once; when it is stored as (b, a) the roles
    swap (:meth:`Pair.flipped`)."""
    direct = comparisons[(comparisons["a"] == a) & (comparisons["b"] == b)]
    if len(direct):
        return _pair(direct.iloc[0])
    flipped = comparisons[(comparisons["a"] == b) & (comparisons["b"] == a)]
    if not len(flipped):
        return None
    return _pair(flipped.iloc[0]).flipped()


@dataclass(frozen=True)
class Facts:
    """What the verdict of one (dataset, protocol) rests on.

    ``outcome``: 'no runs', 'no baseline runs', 'only baseline' or 'compared'. The baseline's numbers need
    its runs; ``best``, ``leader`` and ``leader_mean`` under 'no baseline runs' name the schedule with the
    highest mean; the comparisons are filled under 'compared' only.
    """

    outcome: str
    baseline: str
    confidence: float
    equivalence_examples: float
    equivalence_min_seeds: int = NOETHER_RUNS
    resamples: int = 0  # of a Monte Carlo p-value, should the table hold one (0: unknown)
    n_val: int = 0
    n_seeds: int = 0  # the smallest number of seeds of any schedule
    baseline_mean: float = math.nan
    baseline_ci: tuple[float, float] = (math.nan, math.nan)
    baseline_ci_degenerate: bool = False  # zero width over several seeds: the grid, not certainty
    best: str | None = None  # the best schedule by mean: the baseline itself when no other mean is higher
    leader: str | None = None  # the highest mean among the other schedules
    leader_mean: float = math.nan
    leader_vs_baseline: Pair | None = None
    n_vs_baseline: int = 0  # comparisons with the baseline: the family Holm and Bonferroni adjust over
    # Nadeau and Bengio's corrected t is in the table (resplit): it answers for new data, and the words lead with it.
    corrected_t: bool = False
    # The equivalence call on leader minus baseline: 'equivalent' (the family-level interval inside the +/- band,
    # enough seeds), 'too few seeds' (fewer than equivalence_min_seeds pairs: no call either way, wherever the
    # interval lies; one seed gives a zero-width interval that would otherwise read as a sure difference),
    # 'above', 'below' or 'straddles' (across an edge; enough seeds).
    equivalence: str | None = None
    # Where that interval lies against the band, whatever the seeds: 'inside', 'above', 'below' or 'straddles'.
    band_position: str | None = None
    convincing: tuple[str, ...] = ()  # schedules that beat the baseline convincingly, in table order
    negligible: tuple[str, ...] = ()  # of those, the ones whose whole difference lies inside the band
    rivals_compared: bool = False  # the leader beats the baseline on mean and has rivals to be compared with
    unsettled: tuple[Pair, ...] = ()  # leader against each rival it does not beat convincingly
    equivalent_to_best: tuple[str, ...] = ()  # rivals the leader is equivalent to (decision EQUIVALENT)
    negligible_rivals: tuple[str, ...] = ()  # rivals the leader beats reliably but inside the band
    # (leader's, baseline's) optimizer when the leader beats the baseline and runs a different one.
    optimizer_change: tuple[str, str] | None = None  # (the leader's optimizer, the baseline's), in words
    below_noether: bool = False  # fewer seeds than NOETHER_RUNS
    metric: str = "final validation accuracy"  # what the numbers are, in the words
    controls_trained: bool = False  # the study trains controls: the report splits an optimizer change's gain
    unit: str = "validation example"  # what one step of the counts is
    exact_p_floor: float | None = None  # 2^(1 - n) when n <= FEW_SEEDS: the smallest p an exact test can give
    # Runs of the schedules in the verdict, and how many of them diverged (non-finite loss): when most did, the
    # comparison rests on the few that trained, and the words lead with it (:attr:`mostly_diverged`).
    n_runs: int = 0
    n_diverged: int = 0

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence

    @property
    def mostly_diverged(self) -> bool:
        """More than half of the runs diverged."""
        return 2 * self.n_diverged > self.n_runs > 0


def _band_position(pair: Pair, n_val: int, band: float) -> str:
    """Where the family-level interval of the difference lies against the +/- band, in examples: 'inside',
    'above', 'below' or 'straddles' (the interval the statistics rule's equivalence call uses)."""
    low, high = pair.diff_ci_low_adj * n_val, pair.diff_ci_high_adj * n_val
    if low >= -band - _TOLERANCE and high <= band + _TOLERANCE:
        return "inside"
    if low > band:
        return "above"
    if high < -band:
        return "below"
    return "straddles"


def _equivalence(pair: Pair, n_val: int, band: float, min_seeds: int) -> str:
    """The equivalence call: the table's own where it calls the pair equivalent (so the two cannot disagree);
    below ``min_seeds`` pairs no call either way, not even 'not equivalent': with one seed the interval has zero
    width and lies outside the band for any difference of a few examples, which says nothing about equivalence."""
    if pair.equivalent:
        return "equivalent"
    if pair.n_pairs < min_seeds:
        return "too few seeds"
    position = _band_position(pair, n_val, band)
    return "straddles" if position == "inside" else position


def decide(summary: pd.DataFrame, comparisons: pd.DataFrame, *, baseline: str, confidence: float,
           equivalence_examples: float, equivalence_min_seeds: int = NOETHER_RUNS, resamples: int = 0,
           optimizers: Mapping[str, str] | None = None,
           metric: str = "final validation accuracy", unit: str = "validation example") -> Facts:
    """The facts of one (dataset, protocol) from its summary rows (config order) and comparison rows.
    ``equivalence_min_seeds`` and ``resamples`` are the configuration's (``report.equivalence_min_seeds``,
    ``report.bootstrap_resamples``: the R of a Monte Carlo p); ``optimizers`` maps a schedule to its optimizer
    and settings in words (:func:`schedbench.report.wording.optimizer_words`), to tell when a comparison changes the
    optimizer too. Schedules missing from
    ``summary`` (the controls of an attribution) are left out of the verdict; the size of the family the
    comparison table adjusted over is the table's. ``metric`` and ``unit`` say what the numbers are."""
    common = dict(baseline=baseline, confidence=confidence, equivalence_examples=equivalence_examples,
                  equivalence_min_seeds=equivalence_min_seeds, resamples=resamples, metric=metric, unit=unit)
    if summary.empty:
        return Facts("no runs", **common)
    alpha = 1.0 - confidence
    by_name = summary.set_index("schedule")
    common.update(n_val=int(summary["n_val"].iloc[0]), n_seeds=int(summary["n_seeds"].min()),
                  n_runs=int(summary["n_seeds"].sum()),
                  n_diverged=int(summary["n_diverged"].sum()) if "n_diverged" in summary else 0)
    if baseline not in by_name.index:
        top = summary.loc[summary["mean"].idxmax()]
        return Facts("no baseline runs", best=top["schedule"], leader=top["schedule"], leader_mean=float(top["mean"]),
                     **common)
    base = by_name.loc[baseline]
    common.update(baseline_mean=float(base["mean"]), baseline_ci=(float(base["ci_low"]), float(base["ci_high"])),
                  baseline_ci_degenerate=bool(base["ci_degenerate"]))
    others = summary[summary["schedule"] != baseline]
    if others.empty:
        return Facts("only baseline", best=baseline, **common)
    shown = set(summary["schedule"])
    vs = [_pair(row) for _, row in comparisons[comparisons["vs_baseline"] & (comparisons["b"] == baseline)
                                               & comparisons["a"].isin(shown)].iterrows()]
    convincing = tuple(pair.a for pair in vs if pair.convincing(alpha))
    negligible = tuple(pair.a for pair in vs if pair.a in convincing and pair.decision is Decision.BETTER_NEGLIGIBLE)
    top = others.loc[others["mean"].idxmax()]
    leader = top["schedule"]
    best = leader if float(top["mean"]) > float(base["mean"]) else baseline
    leader_pair = oriented(comparisons, leader, baseline)
    rivals_compared = best != baseline and len(others) > 1
    unsettled, equivalent_to_best, negligible_rivals = [], [], []
    if rivals_compared:
        for name in others["schedule"]:
            pair = oriented(comparisons, leader, name) if name != leader else None
            if pair is None:  # the leader itself, or a pair the table lacks
                continue
            # The pair's one decision: a reliable but negligible lead is not called equivalent.
            if pair.decision is Decision.EQUIVALENT:
                equivalent_to_best.append(name)
            elif pair.decision is Decision.BETTER_NEGLIGIBLE and pair.convincing(alpha):
                negligible_rivals.append(name)
            # Separated only by the same bar as against the baseline; anything less is not settled.
            if not pair.convincing(alpha):
                unsettled.append(pair)
    change = None
    if optimizers and best != baseline and leader in optimizers and baseline in optimizers:
        mine, theirs = optimizers[leader], optimizers[baseline]
        change = (mine, theirs) if mine != theirs else None
    n_seeds = common["n_seeds"]
    return Facts(
        "compared", **common, best=best, leader=leader, leader_mean=float(top["mean"]), leader_vs_baseline=leader_pair,
        n_vs_baseline=max((pair.family_size for pair in vs), default=0),
        corrected_t=bool(comparisons["p_t_corrected"].notna().any()),
        equivalence=(_equivalence(leader_pair, common["n_val"], equivalence_examples, equivalence_min_seeds)
                     if leader_pair is not None else None),
        band_position=(_band_position(leader_pair, common["n_val"], equivalence_examples)
                       if leader_pair is not None else None),
        convincing=convincing, negligible=negligible, rivals_compared=rivals_compared, unsettled=tuple(unsettled),
        equivalent_to_best=tuple(equivalent_to_best), negligible_rivals=tuple(negligible_rivals),
        optimizer_change=change, below_noether=n_seeds < NOETHER_RUNS,
        exact_p_floor=2.0 ** (1 - n_seeds) if n_seeds <= FEW_SEEDS else None,
    )


