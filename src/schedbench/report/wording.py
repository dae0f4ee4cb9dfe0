"""The verdict in words: :func:`words` turns the facts :func:`schedbench.report.verdict.decide` picked out into the
headline and the sentences; :func:`protocol_difference` compares the facts of several protocols.

Two questions are kept apart. The sign-flip test and the bootstrap intervals over seeds answer "does A beat B on
these seeds' splits?"; under resplit Nadeau and Bengio's corrected t answers "would A beat B on new data from the
same distribution?", and being the question a reader means, it leads the "how sure" sentence there. Intervals are
named with their level: the P(A>B) and equivalence intervals at the family's Bonferroni level (what the calls use),
the difference in the "by how much" sentence at the plain level (a description).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup

from schedbench.report.format import (
    bold,
    finite,
    flagged,
    interval,
    number,
    pct,
    pct_k,
    percent_label,
    pvalue,
    pvalue_mc,
    signed,
)
from schedbench.report.verdict import NOETHER_RUNS, Facts, Pair
from schedbench.stats.reading import Decision, Reading

# A reading as a sentence says it (A is the schedule, B the baseline).
READING_WORDS = {
    Reading.SIGNIFICANT_AND_MEANINGFUL: "significant and meaningful (interval above 0.5 and P(A>B) > 0.75)",
    Reading.SIGNIFICANT: "significant but not meaningful (interval above 0.5, P(A>B) at most 0.75)",
    Reading.MEANINGFUL: ("meaningful but not significant (P(A>B) > 0.75, but the interval reaches 0.5 or the "
                         "Holm-adjusted sign-flip test does not agree)"),
    Reading.NEITHER: ("neither significant nor meaningful (the interval includes 0.5 or the Holm-adjusted sign-flip "
                      "test does not agree, and P(A>B) lies between 0.25 and 0.75)"),
    Reading.B_SIGNIFICANT_AND_MEANINGFUL: "significant and meaningful in the baseline's favour",
    Reading.B_SIGNIFICANT: "significant in the baseline's favour",
    Reading.B_MEANINGFUL: "meaningful in the baseline's favour",
}
# A reading in a table cell: the comparisons table's own short label.
READING_LABELS = {reading: reading.value for reading in Reading}
# The one word set per decision (schedbench.stats.reading.decide_pair), A against B: a pair is called by its
# decision and nothing else, so no pair reads "convincingly better" and "practically equivalent" at once.
DECISION_WORDS = {
    Decision.BETTER: "convincingly better",
    Decision.BETTER_NEGLIGIBLE: "reliably better, but by less than the equivalence band: a negligible difference",
    Decision.EQUIVALENT: "practically equivalent",
    Decision.INCONCLUSIVE: "inconclusive: neither a difference nor equivalence is shown",
    Decision.WORSE_NEGLIGIBLE: "reliably worse, but by less than the equivalence band: a negligible difference",
    Decision.WORSE: "convincingly worse",
}
CORRECTED_T = "Nadeau and Bengio's corrected t, which counts the variance of the split"
DEGENERATE = ("degenerate: every seed gives the same difference, so resampling the seeds cannot widen the interval; "
              "it shows the grid of whole examples, not certainty")


def the_baseline(name: str, tuned: bool = False) -> Markup:
    """'the baseline' (or 'the tuned baseline'), naming it unless it is called 'baseline'."""
    what = "the tuned baseline" if tuned else "the baseline"
    return Markup(what) if name == "baseline" else Markup("{} {}").format(what, bold(name))


def _names(names: Sequence[str]) -> Markup:
    return Markup(", ").join(bold(n) for n in names)


def _comparisons_with_baseline(m: int) -> str:
    return "the one comparison with the baseline" if m == 1 else f"the {m} comparisons with the baseline"


def _level(pair: Pair) -> str:
    """'97.5 %': the Bonferroni level of the pair's family, at which its *_adj intervals were taken."""
    return percent_label(pair.confidence_adj)


def _p_interval_adj(facts: Facts, pair: Pair) -> str:
    return (f"{interval(pair.p_a_better_ci_low_adj, pair.p_a_better_ci_high_adj, scale=1.0)} "
            f"({_level(pair)} interval)")


def _diff_adj_examples(pair: Pair, n_val: int) -> str:
    return interval(pair.diff_ci_low_adj, pair.diff_ci_high_adj, scale=n_val, digits=1, signed=True)


def bar(facts: Facts) -> str:
    """What "convincingly" means, in one phrase (:meth:`schedbench.report.verdict.Pair.convincing`)."""
    alpha = facts.alpha
    text = (f"P(A>B) interval above 0.5 and difference interval above 0, both at the family's Bonferroni level; "
            f"Holm-adjusted sign-flip p < {alpha:g}")
    if facts.corrected_t:
        text += f"; and, under resplit, Nadeau and Bengio's corrected t with a Holm-adjusted p < {alpha:g}"
    return text


def _how_much(facts: Facts, row: Pair) -> Markup:
    n_val = facts.n_val
    sentence = Markup(
        "By how much: {} points, {} examples of {} ({} paired bootstrap interval {} points, {} examples{})."
    ).format(signed(row.mean_diff, 2, 100.0), signed(row.mean_diff_examples, 1), n_val,
             percent_label(facts.confidence), interval(row.diff_ci_low, row.diff_ci_high, signed=True),
             interval(row.diff_ci_low, row.diff_ci_high, scale=n_val, digits=1, signed=True),
             f"; {DEGENERATE}" if row.diff_ci_degenerate else "")
    return sentence


def _adjustment(m: int) -> str:
    """How a family-level interval of a comparison with the baseline was adjusted, in words."""
    return (f"Bonferroni over {_comparisons_with_baseline(m)}" if m > 1
            else f"{_comparisons_with_baseline(m)}, so nothing to adjust")


def _how_sure(facts: Facts, row: Pair) -> Markup:
    m = row.family_size
    adjustment = _adjustment(m)
    on_seeds = Markup(
        "it beats the baseline on {} of {} seeds ({} ties, {} losses); P(A&gt;B) = {} {} ({} interval, {}), which "
        "Bouthillier et al. would read as {}. The sign-flip permutation test gives p = {} after Holm's "
        "adjustment over {}{}.").format(
        row.wins, row.n_pairs, row.ties, row.losses, number(row.p_a_better, 2),
        interval(row.p_a_better_ci_low_adj, row.p_a_better_ci_high_adj, scale=1.0), _level(row), adjustment,
        READING_WORDS[row.reading], pvalue(row.p_holm), _comparisons_with_baseline(m),
        "" if row.p_sign_flip_exact else
        f" (its unadjusted p is a Monte Carlo estimate: {pvalue_mc(row.p_sign_flip, False, facts.resamples)})")
    if not facts.corrected_t:
        return Markup("How sure: ") + on_seeds
    # Under resplit the question a reader means is the one about new data: it comes first.
    return Markup("How sure, on new data from the same distribution ({}; Holm-adjusted over {}): p = {}. On these "
                  "seeds' splits, ").format(CORRECTED_T, _comparisons_with_baseline(m),
                                            pvalue(row.p_t_corrected_holm)) + on_seeds


def _equivalence(facts: Facts, row: Pair) -> Markup:
    n_val, band_examples = facts.n_val, facts.equivalence_examples
    # The band in both units, with the rows it is counted on: one example is a different share on every dataset.
    band = (f"+/-{band_examples:g} {facts.unit}{'' if band_examples == 1 else 's'} "
            f"({band_examples * (100.0 / n_val):.2f} points of {n_val} rows)")
    what = Markup("{} interval of the difference, {} examples ({}),").format(
        _level(row), flagged(_diff_adj_examples(row, n_val), row.diff_ci_degenerate),
        _adjustment(row.family_size))
    minimum = facts.equivalence_min_seeds
    why = ("Noether's number of paired runs that detects P(A>B) = 0.75 at alpha = beta = 0.05"
           if minimum == NOETHER_RUNS else
           f"the configured minimum; Noether's {NOETHER_RUNS} paired runs are what detecting P(A>B) = 0.75 at "
           f"alpha = beta = 0.05 takes")
    equivalent = ("Reliably better but negligible: the whole {what} lies above 0 and inside {band}, over {n} seeds; "
                  "the gain is real but smaller than the band." if row.decision is Decision.BETTER_NEGLIGIBLE else
                  "Reliably worse but negligible: the whole {what} lies below 0 and inside {band}, over {n} seeds."
                  if row.decision is Decision.WORSE_NEGLIGIBLE else
                  "Practically equivalent to the baseline: the whole {what} lies inside {band}, over {n} seeds.")
    sentence = Markup({
        "equivalent": equivalent,
        "too few seeds": "Too few seeds to call equivalence either way: the {what} lies {position} {band}, but "
                         "there are only {n} paired seeds and a call needs at least {minimum} ({why}); with fewer, a "
                         "moderate difference can hide inside the band, and an interval outside it is no proof of a "
                         "difference either (over one seed it has zero width).",
        "above": "Not practically equivalent to the baseline: the whole {what} lies above {band}, so the gain is "
                 "more than {examples} {unit}{s}.",
        "below": "Not practically equivalent: the whole {what} lies below {band}, the baseline is better.",
        "straddles": "Neither equivalence nor a difference beyond {band} is shown: the {what} straddles the band's "
                     "edge.",
    }[facts.equivalence]).format(what=what, band=band, n=row.n_pairs, minimum=minimum, why=why,
                                 position=_POSITION_WORDS.get(facts.band_position, "against"),
                                 examples="one" if band_examples == 1 else f"{band_examples:g}", unit=facts.unit,
                                 s="" if band_examples == 1 else "s")
    if facts.equivalence in ("too few seeds", "straddles"):  # nothing shown either way: say what could have been
        sentence += Markup(" {}.").format(detectable(facts, row, first=True))
    return sentence


def detectable(facts: Facts, pair: Pair, first: bool = False) -> Markup:
    """What the design could have seen, for every sentence that finds no difference: 'this design would have
    detected a difference of X examples or more (Y points) ...' from the pair's minimum detectable effect;
    ``first``: it opens a sentence."""
    this = "This" if first else "this"
    if not finite(pair.mde_examples):
        return Markup("{} design's detectable difference is undefined here (fewer than two seeds, or every seed "
                      "gave the same difference, so the seeds carry no estimate of the noise)").format(this)
    if pair.mde_examples > facts.n_val:  # a few seeds with a wide spread: no possible difference is detectable
        return Markup("{} design could not have detected any possible difference: the smallest it would detect with "
                      "80 % power at the family's level {} is {} examples, more than the {} rows scored").format(
            this, f"{1.0 - pair.confidence_adj:.3g}", number(pair.mde_examples, 1), facts.n_val)
    return Markup("{} design would have detected a difference of {} examples or more ({} points) with 80 % power "
                  "at the family's level {}").format(
        this, number(pair.mde_examples, 1), number(pair.mde_examples * 100.0 / facts.n_val, 2),
        f"{1.0 - pair.confidence_adj:.3g}")


# Where an interval lies against the equivalence band, as the words say it ('lies inside +/-1 example').
_POSITION_WORDS = {"inside": "inside", "above": "above", "below": "below", "straddles": "across the edge of"}


def _unsettled(facts: Facts, pair: Pair) -> Markup:
    corrected = (Markup(", corrected t Holm p = {}").format(pvalue(pair.p_t_corrected_holm))
                 if finite(pair.p_t_corrected_holm) else "")
    return Markup("{} (P = {} {}, Holm p = {}{}; {}: {})").format(
        pair.b, number(pair.p_a_better, 2), _p_interval_adj(facts, pair), pvalue(pair.p_holm), corrected,
        DECISION_WORDS[pair.decision], detectable(facts, pair))


def words(facts: Facts) -> tuple[Markup, list[Markup]]:
    """The headline and the sentences of the verdict. When more than half of the runs diverged, both lead with
    it: whatever follows rests on the few runs that trained, and must not read like an ordinary result."""
    headline, sentences = _words(facts)
    if not facts.mostly_diverged:
        return headline, sentences
    diverged = Markup("{} of {} runs diverged (non-finite loss)").format(facts.n_diverged, facts.n_runs)
    return (Markup("{}. ").format(diverged) + headline,
            [Markup("{}; the comparison below rests on the rest.").format(diverged), *sentences])


def _words(facts: Facts) -> tuple[Markup, list[Markup]]:
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
    sentences = []
    if facts.best == baseline:
        sentences.append(Markup(
            "No schedule has a higher mean {} than {} ({}). The closest, "
            "{}, scores {}.").format(facts.metric, the_baseline(baseline), pct_k(facts.baseline_mean, n_val),
                                     bold(leader),
                                     pct_k(facts.leader_mean, n_val)))
    else:
        sentences.append(Markup(
            "{} has the highest mean {}: {}, against {} for {}.").format(
            bold(leader), facts.metric, pct_k(facts.leader_mean, n_val), pct_k(facts.baseline_mean, n_val),
            the_baseline(baseline)))
    if row is not None:
        sentences += [_how_much(facts, row), _how_sure(facts, row), _equivalence(facts, row)]
    beyond_band = [name for name in facts.convincing if name not in facts.negligible]
    if beyond_band:
        sentences.append(Markup("Schedules that beat the baseline convincingly ({}): {}.").format(
            bar(facts), _names(beyond_band)))
    else:
        none = Markup("{}").format(bold(
            f"No schedule beats the baseline convincingly: none meets the bar ({bar(facts)}) by more than the "
            f"equivalence band." if facts.negligible else
            f"No schedule beats the baseline convincingly: none meets the bar ({bar(facts)})."))
        if row is not None and not facts.negligible:
            none += Markup(" For {}, {}.").format(bold(leader), detectable(facts, row))
        sentences.append(none)
    if facts.negligible:
        sentences.append(Markup("{} (the whole family-level interval of the difference above 0 and inside "
                                "+/-{:g} example): {}.").format(
            DECISION_WORDS[Decision.BETTER_NEGLIGIBLE][0].upper() + DECISION_WORDS[Decision.BETTER_NEGLIGIBLE][1:],
            facts.equivalence_examples, _names(facts.negligible)))
    if facts.rivals_compared:
        if facts.unsettled:
            sentences.append(Markup("The top is not settled: {} does not beat {} convincingly.").format(
                bold(leader), Markup(", ").join(_unsettled(facts, pair) for pair in facts.unsettled)))
        else:
            sentences.append(Markup("{} beats every other schedule convincingly too ({}){}.").format(
                bold(leader), bar(facts), Markup("; {}, {}").format(
                    DECISION_WORDS[Decision.BETTER_NEGLIGIBLE], _names(facts.negligible_rivals))
                if facts.negligible_rivals else ""))
        if facts.equivalent_to_best:
            sentences.append(Markup(
                "Practically equivalent to {} (the family-level interval of the difference inside {}, over at "
                "least {} seeds): {}.").format(bold(leader), f"+/-{facts.equivalence_examples:g} example",
                                               facts.equivalence_min_seeds, _names(facts.equivalent_to_best)))
    if facts.optimizer_change:
        mine, theirs = facts.optimizer_change
        sentences.append(Markup(
            "The comparison changes more than the schedule: {} runs {}, {} {}, so the difference is that of "
            "schedule and optimizer together{}.").format(
            bold(leader), mine, bold(baseline), theirs,
            Markup('; <a href="#attribution">Schedule or optimizer?</a> splits it') if facts.controls_trained else ""))
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
    if row is None:
        return Markup("No schedule beats {}.").format(the_baseline(facts.baseline))
    if facts.best == facts.baseline:
        # Nothing has a higher mean; how close the closest comes, and what the design could have seen.
        return Markup("No schedule has a higher mean than {}; the closest, {}, is {} examples ({} points) from it, "
                      "{}; {}.").format(
            the_baseline(facts.baseline), bold(leader), signed(row.mean_diff_examples, 1),
            signed(row.mean_diff, 2, 100.0), Markup(DECISION_WORDS[row.decision]), detectable(facts, row))
    # The leader's one decision against the baseline; where nothing is shown, what could have been.
    status = Markup(DECISION_WORDS[row.decision])
    if row.decision is Decision.INCONCLUSIVE:
        status += Markup("; ") + detectable(facts, row)
    headline = Markup("{} has the highest mean: {} examples ({} points) over {}, P(A&gt;B) = {}; {}.").format(
        bold(leader), signed(row.mean_diff_examples, 1), signed(row.mean_diff, 2, 100.0), the_baseline(facts.baseline),
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
        Markup("; ").join(Markup("{:.2f} points under {}{}").format(
            (facts.baseline_ci[1] - facts.baseline_ci[0]) * 100, name,
            " (degenerate: every seed scores the same; the grid, not certainty)"
            if facts.baseline_ci_degenerate else "") for name, facts, _ in protocols)))
    majority = {name: value for name, _, value in protocols}
    if majority.get("tail") is not None and majority.get("resplit") is not None:
        parts.append(Markup(
            "The tail split is easier and unbalanced (majority class {} against {} for a stratified "
            "split), and under resplit the split's own variance enters the spread over seeds (and the corrected t "
            "carries it to new data): conclusions that hold under both protocols are the ones to trust beyond "
            "this particular validation set.").format(pct(majority["tail"]), pct(majority["resplit"])))
    return parts


# The optimizers' names as the report writes them (the config's names are Keras' in snake case).
OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "schedule_free_sgd": "schedule-free SGD",
                   "schedule_free_adamw": "schedule-free AdamW"}


def optimizer_words(block: Mapping) -> str:
    """A family's ``optimizer`` block in words: 'SGD with momentum 0.9 (Nesterov)', 'AdamW (beta_1 0.9, beta_2
    0.999, epsilon 1e-07, weight_decay 0.004)'."""
    name = OPTIMIZER_NAMES.get(block["name"], block["name"])
    if block["name"] == "sgd":
        return f"{name} with momentum {block['momentum']:g}{' (Nesterov)' if block['nesterov'] else ''}"
    settings = ", ".join(f"{key} {value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool)
                         else f"{key} {value}" for key, value in block.items() if key != "name")
    return f"{name} ({settings})" if settings else name


def optimizer_name(block: Mapping) -> str:
    """A family's optimizer in a few words: 'SGD with momentum 0.9', 'AdamW' (its other settings:
    :func:`optimizer_words`)."""
    name = OPTIMIZER_NAMES.get(block["name"], block["name"])
    return f"{name} with momentum {block['momentum']:g}" if block["name"] == "sgd" else name
