"""The verdict of one (dataset, protocol): first the facts (:func:`decide`), then the words (:func:`words`).

:func:`decide` reads the summary and comparison tables the statistics rule wrote and picks out what the verdict
rests on: the best schedule, the comparison of the leader with the baseline, which schedules beat the baseline
convincingly, which rivals the leader does not separate from. It returns plain data, no markup, so the decision
can be tested apart from its wording. :func:`words` turns the facts into the headline and the sentences;
:func:`protocol_difference` compares the facts of several protocols in words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from schedbench.report.format import bold, finite, interval, number, pct, pct_k, percent_label, pvalue, signed

# Bouthillier et al.: paired runs needed to detect P(A>B) = 0.75 at alpha = beta = 0.05 (Noether's rule).
NOETHER_RUNS = 29
# An exact sign or rank test over n seeds cannot give p below 2^(1 - n); said out loud up to this many seeds.
FEW_SEEDS = 5

READING_WORDS = {
    "significant and meaningful": "significant and meaningful (interval above 0.5 and P(A>B) > 0.75)",
    "significant": "significant but not meaningful (interval above 0.5, P(A>B) at most 0.75)",
    "meaningful": "meaningful but not significant (P(A>B) > 0.75, but the interval reaches 0.5)",
    "neither": "neither significant nor meaningful (the interval includes 0.5)",
    "b significant and meaningful": "significant and meaningful in the baseline's favour",
    "b significant": "significant in the baseline's favour",
    "b meaningful": "meaningful in the baseline's favour",
}
# Bouthillier et al.'s reading of a row seen from the other side (A and B swapped).
_MIRROR = {"significant and meaningful": "b significant and meaningful", "significant": "b significant",
           "meaningful": "b meaningful", "neither": "neither"}
_MIRROR.update({v: k for k, v in list(_MIRROR.items())})


# --------------------------------------------------------------------------------------------------
# facts
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    """One row of the comparison table read as 'a against b' (the columns the verdict uses)."""

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
    reading: str
    p_holm: float
    equivalent: bool

    def convincing(self, alpha: float) -> bool:
        """A beats B convincingly: P(A>B)'s interval above 0.5, Holm-adjusted p below alpha, difference
        interval above zero."""
        return (self.reading.startswith("significant") and finite(self.p_holm) and self.p_holm < alpha
                and self.diff_ci_low > 0)


def _pair(row: Mapping) -> Pair:
    return Pair(
        a=row["a"], b=row["b"], n_pairs=int(row["n_pairs"]), mean_diff=float(row["mean_diff"]),
        mean_diff_examples=float(row["mean_diff_examples"]), diff_ci_low=float(row["diff_ci_low"]),
        diff_ci_high=float(row["diff_ci_high"]), wins=int(row["wins"]), ties=int(row["ties"]),
        losses=int(row["losses"]), p_a_better=float(row["p_a_better"]),
        p_a_better_ci_low=float(row["p_a_better_ci_low"]), p_a_better_ci_high=float(row["p_a_better_ci_high"]),
        reading=row["reading"], p_holm=float(row["p_holm"]), equivalent=bool(row["equivalent"]),
    )


def oriented(comparisons: pd.DataFrame, a: str, b: str) -> Pair | None:
    """The comparison of a against b. The table holds each pair once; when it is stored as (b, a) the roles
    swap: differences change sign, P(A>B) becomes 1 - P, wins and losses trade places, the reading mirrors."""
    direct = comparisons[(comparisons["a"] == a) & (comparisons["b"] == b)]
    if len(direct):
        return _pair(direct.iloc[0])
    flipped = comparisons[(comparisons["a"] == b) & (comparisons["b"] == a)]
    if not len(flipped):
        return None
    row = flipped.iloc[0]
    return Pair(
        a=a, b=b, n_pairs=int(row["n_pairs"]), mean_diff=-float(row["mean_diff"]),
        mean_diff_examples=-float(row["mean_diff_examples"]), diff_ci_low=-float(row["diff_ci_high"]),
        diff_ci_high=-float(row["diff_ci_low"]), wins=int(row["losses"]), ties=int(row["ties"]),
        losses=int(row["wins"]), p_a_better=1.0 - float(row["p_a_better"]),
        p_a_better_ci_low=1.0 - float(row["p_a_better_ci_high"]),
        p_a_better_ci_high=1.0 - float(row["p_a_better_ci_low"]),
        reading=_MIRROR.get(row["reading"], row["reading"]), p_holm=float(row["p_holm"]),
        equivalent=bool(row["equivalent"]),
    )


@dataclass(frozen=True)
class Optimizer:
    momentum: float
    nesterov: bool


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
    n_val: int = 0
    n_seeds: int = 0  # the smallest number of seeds of any schedule
    baseline_mean: float = math.nan
    baseline_ci: tuple[float, float] = (math.nan, math.nan)
    best: str | None = None  # the best schedule by mean: the baseline itself when no other mean is higher
    leader: str | None = None  # the highest mean among the other schedules
    leader_mean: float = math.nan
    leader_vs_baseline: Pair | None = None
    n_vs_baseline: int = 0  # comparisons with the baseline: the family Holm adjusts over
    # Where the interval of leader minus baseline lies against the +/- equivalence band, in examples:
    # 'equivalent' (inside), 'above', 'below' or 'straddles' (across an edge).
    equivalence: str | None = None
    convincing: tuple[str, ...] = ()  # schedules that beat the baseline convincingly, in table order
    rivals_compared: bool = False  # the leader beats the baseline on mean and has rivals to be compared with
    unsettled: tuple[Pair, ...] = ()  # leader against each rival it does not beat convincingly
    equivalent_to_best: tuple[str, ...] = ()
    # (leader's, baseline's) optimizer when the leader beats the baseline and runs a different one.
    optimizer_change: tuple[Optimizer, Optimizer] | None = None
    below_noether: bool = False  # fewer seeds than NOETHER_RUNS
    exact_p_floor: float | None = None  # 2^(1 - n) when n <= FEW_SEEDS: the smallest p an exact test can give

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence


def _equivalence(pair: Pair, n_val: int, band: float) -> str:
    if pair.equivalent:
        return "equivalent"
    if pair.diff_ci_low * n_val > band:
        return "above"
    if pair.diff_ci_high * n_val < -band:
        return "below"
    return "straddles"


def decide(summary: pd.DataFrame, comparisons: pd.DataFrame, *, baseline: str, confidence: float,
           equivalence_examples: float, optimizers: Mapping[str, tuple[float, bool]] | None = None) -> Facts:
    """The facts of one (dataset, protocol) from its summary rows (config order) and comparison rows.
    ``optimizers`` maps a schedule to its (momentum, nesterov), to tell when a comparison changes the
    optimizer too."""
    common = dict(baseline=baseline, confidence=confidence, equivalence_examples=equivalence_examples)
    if summary.empty:
        return Facts("no runs", **common)
    alpha = 1.0 - confidence
    by_name = summary.set_index("schedule")
    common.update(n_val=int(summary["n_val"].iloc[0]), n_seeds=int(summary["n_seeds"].min()))
    if baseline not in by_name.index:
        top = summary.loc[summary["mean"].idxmax()]
        return Facts("no baseline runs", best=top["schedule"], leader=top["schedule"], leader_mean=float(top["mean"]),
                     **common)
    base = by_name.loc[baseline]
    common.update(baseline_mean=float(base["mean"]), baseline_ci=(float(base["ci_low"]), float(base["ci_high"])))
    others = summary[summary["schedule"] != baseline]
    if others.empty:
        return Facts("only baseline", best=baseline, **common)
    vs = [_pair(row) for _, row in comparisons[comparisons["vs_baseline"] & (comparisons["b"] == baseline)].iterrows()]
    convincing = tuple(pair.a for pair in vs if pair.convincing(alpha))
    top = others.loc[others["mean"].idxmax()]
    leader = top["schedule"]
    best = leader if float(top["mean"]) > float(base["mean"]) else baseline
    leader_pair = oriented(comparisons, leader, baseline)
    rivals_compared = best != baseline and len(others) > 1
    unsettled, equivalent_to_best = [], []
    if rivals_compared:
        for name in others["schedule"]:
            pair = oriented(comparisons, leader, name) if name != leader else None
            if pair is None:  # the leader itself, or a pair the table lacks
                continue
            if pair.equivalent:
                equivalent_to_best.append(name)
            # Separated only by the same bar as against the baseline; anything less is not settled.
            if not pair.convincing(alpha):
                unsettled.append(pair)
    change = None
    if optimizers and best != baseline and leader in optimizers and baseline in optimizers:
        mine, theirs = Optimizer(*optimizers[leader]), Optimizer(*optimizers[baseline])
        change = (mine, theirs) if mine != theirs else None
    n_seeds = common["n_seeds"]
    return Facts(
        "compared", **common, best=best, leader=leader, leader_mean=float(top["mean"]), leader_vs_baseline=leader_pair,
        n_vs_baseline=len(vs),
        equivalence=(_equivalence(leader_pair, common["n_val"], equivalence_examples)
                     if leader_pair is not None else None),
        convincing=convincing, rivals_compared=rivals_compared, unsettled=tuple(unsettled),
        equivalent_to_best=tuple(equivalent_to_best), optimizer_change=change, below_noether=n_seeds < NOETHER_RUNS,
        exact_p_floor=2.0 ** (1 - n_seeds) if n_seeds <= FEW_SEEDS else None,
    )


# --------------------------------------------------------------------------------------------------
# words
# --------------------------------------------------------------------------------------------------
def _the_baseline(name: str) -> Markup:
    """'the baseline', naming it unless it is called 'baseline'."""
    return Markup("the baseline") if name == "baseline" else Markup("the baseline {}").format(bold(name))


def _p_interval(pair: Pair) -> str:
    return interval(pair.p_a_better_ci_low, pair.p_a_better_ci_high, scale=1.0)


def _names(names: Sequence[str]) -> Markup:
    return Markup(", ").join(bold(n) for n in names)


def words(facts: Facts) -> tuple[Markup, list[Markup]]:
    """The headline and the sentences of the verdict."""
    baseline, n_val = facts.baseline, facts.n_val
    if facts.outcome == "no runs":
        return Markup("No results."), [Markup("There are no runs for this protocol.")]
    if facts.outcome == "no baseline runs":
        return Markup("No baseline to compare with."), [
            Markup("The baseline {} has no runs here; {} has the highest mean, {}.").format(
                bold(baseline), bold(facts.leader), pct_k(facts.leader_mean, n_val))]
    if facts.outcome == "only baseline":
        return Markup("Only the baseline was run."), [Markup("Only {} was run: nothing to compare.").format(
            bold(baseline))]
    leader, row = facts.leader, facts.leader_vs_baseline
    band_examples = facts.equivalence_examples
    alpha = facts.alpha
    sentences = []
    if facts.best == baseline:
        sentences.append(Markup(
            "No schedule has a higher mean final validation accuracy than {} ({}). The closest, "
            "{}, scores {}.").format(_the_baseline(baseline), pct_k(facts.baseline_mean, n_val), bold(leader),
                                     pct_k(facts.leader_mean, n_val)))
    else:
        sentences.append(Markup(
            "{} has the highest mean final validation accuracy: {}, against {} for {}.").format(
            bold(leader), pct_k(facts.leader_mean, n_val), pct_k(facts.baseline_mean, n_val),
            _the_baseline(baseline)))
    if row is not None:
        sentences.append(Markup(
            "By how much: {} points, {} examples of {} ({} paired bootstrap interval {} points, {} examples)."
        ).format(signed(row.mean_diff, 2, 100.0), signed(row.mean_diff_examples, 1), n_val,
                 percent_label(facts.confidence), interval(row.diff_ci_low, row.diff_ci_high, signed=True),
                 interval(row.diff_ci_low, row.diff_ci_high, scale=n_val, digits=1, signed=True)))
        sentences.append(Markup(
            "How sure: it beats the baseline on {} of {} seeds ({} ties, {} losses); P(A&gt;B) = {} {}, which "
            "Bouthillier et al. would read as {}. The sign-flip permutation test gives p = {} after Holm's "
            "adjustment over the {} comparisons with the baseline.").format(
            row.wins, row.n_pairs, row.ties, row.losses, number(row.p_a_better, 2), _p_interval(row),
            READING_WORDS.get(row.reading, row.reading), pvalue(row.p_holm), facts.n_vs_baseline))
        band = f"+/-{band_examples:g} example ({band_examples * (100.0 / n_val):.2f} points)"
        sentences.append(Markup({
            "equivalent": "Practically equivalent to the baseline: the whole interval of the difference lies "
                          "inside {}.",
            "above": "Not practically equivalent to the baseline: the whole interval lies above {}, so the gain "
                     "is more than one validation example.",
            "below": "Not practically equivalent: the whole interval lies below {}, the baseline is better.",
            "straddles": "Neither equivalence nor a difference beyond {} is shown: the interval of the difference "
                         "straddles the band's edge.",
        }[facts.equivalence]).format(band))
    if facts.convincing:
        sentences.append(Markup(
            "Schedules that beat the baseline convincingly (P(A&gt;B) interval above 0.5, Holm-adjusted p &lt; {:g}, "
            "difference interval above 0): {}.").format(alpha, _names(facts.convincing)))
    else:
        sentences.append(Markup("{}").format(bold(
            "No schedule beats the baseline convincingly: none has a P(A>B) interval above 0.5 together with a "
            f"Holm-adjusted p < {alpha:g} and a difference interval above 0.")))
    if facts.rivals_compared:
        if facts.unsettled:
            sentences.append(Markup("The top is not settled: {} does not beat {} convincingly.").format(
                bold(leader), Markup(", ").join(
                    Markup("{} (P = {} {}, Holm p = {})").format(
                        pair.b, number(pair.p_a_better, 2), _p_interval(pair), pvalue(pair.p_holm))
                    for pair in facts.unsettled)))
        else:
            sentences.append(Markup(
                "{} beats every other schedule convincingly too (P(A&gt;B) interval above 0.5, Holm-adjusted p "
                "&lt; {:g}, difference interval above 0).").format(bold(leader), alpha))
        if facts.equivalent_to_best:
            sentences.append(Markup(
                "Practically equivalent to {} (the interval of the difference inside {}): {}.").format(
                bold(leader), f"+/-{band_examples:g} example", _names(facts.equivalent_to_best)))
    if facts.optimizer_change:
        mine, theirs = facts.optimizer_change
        sentences.append(Markup(
            "The comparison changes more than the schedule: {} runs SGD with momentum {:g}{}, {} with "
            "momentum {:g}{} (as in the article), so the difference is that of schedule and optimizer "
            "together.").format(
            bold(leader), mine.momentum, " (Nesterov)" if mine.nesterov else "",
            bold(baseline), theirs.momentum, " (Nesterov)" if theirs.nesterov else ""))
    if facts.below_noether:
        sentences.append(Markup(
            "Only {} seeds: fewer than the {} paired runs Bouthillier et al. need to detect P(A&gt;B) = 0.75 at "
            "alpha = beta = 0.05; a moderate real improvement can go undetected.").format(facts.n_seeds, NOETHER_RUNS))
    if facts.exact_p_floor is not None:
        sentences.append(Markup(
            "With {} seeds an exact sign or rank test cannot give p below 2^(1 - n) = {}.").format(
            facts.n_seeds, pvalue(facts.exact_p_floor)))
    return _headline(facts), sentences


def _headline(facts: Facts) -> Markup:
    row, leader = facts.leader_vs_baseline, facts.leader
    if row is None or facts.best == facts.baseline:
        return Markup("No schedule beats the baseline {}.").format(bold(facts.baseline))
    status = ("convincingly better" if leader in facts.convincing else
              "practically equivalent" if row.equivalent else "not convincingly better")
    headline = Markup("{} has the highest mean: {} examples ({} points) over {}, P(A&gt;B) = {}; {}.").format(
        bold(leader), signed(row.mean_diff_examples, 1), signed(row.mean_diff, 2, 100.0), facts.baseline,
        number(row.p_a_better, 2), status)
    if facts.equivalent_to_best:
        headline += Markup(" It is practically equivalent to {}: no single winner.").format(
            _names(facts.equivalent_to_best))
    return headline


def protocol_difference(protocols: Sequence[tuple[str, Facts, float | None]]) -> list[Markup]:
    """How the conclusions of two (or more) protocols differ, in words; ``protocols`` holds (name, facts,
    majority-class accuracy) per protocol."""
    if len(protocols) < 2:
        return []
    parts = []
    bests = [facts.best for _, facts, _ in protocols]
    if len(set(bests)) == 1:
        parts.append(Markup("The best schedule by mean is the same under every protocol: {}.").format(
            bold(bests[0])))
    else:
        parts.append(Markup("The best schedule by mean differs: {}.").format(
            Markup("; ").join(Markup("{} under {}").format(bold(facts.best), name) for name, facts, _ in protocols)))
    sets = [frozenset(facts.convincing) for _, facts, _ in protocols]
    if len(set(sets)) == 1:
        first = protocols[0][1].convincing
        parts.append(Markup("The set of schedules that beat the baseline convincingly is the same ({}).").format(
            ", ".join(first) if first else "none"))
    else:
        parts.append(Markup("Schedules that beat the baseline convincingly: {}.").format(
            Markup("; ").join(Markup("{} under {}").format(", ".join(facts.convincing) or "none", name)
                              for name, facts, _ in protocols)))
    parts.append(Markup("The baseline scores {}; the width of its mean's interval is {}.").format(
        Markup("; ").join(Markup("{} under {}").format(pct(facts.baseline_mean), name) for name, facts, _ in protocols),
        Markup("; ").join(Markup("{:.2f} points under {}").format((facts.baseline_ci[1] - facts.baseline_ci[0]) * 100,
                                                                   name) for name, facts, _ in protocols)))
    majority = {name: value for name, _, value in protocols}
    if majority.get("tail") is not None and majority.get("resplit") is not None:
        parts.append(Markup(
            "The tail split is easier and unbalanced (majority class {} against {} for a stratified "
            "split), and under resplit the split's own variance enters every interval: conclusions that "
            "hold under both protocols are the ones to trust beyond this particular validation set.").format(
            pct(majority["tail"]), pct(majority["resplit"])))
    return parts
