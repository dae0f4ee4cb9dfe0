"""The report's section on a study with budgets, and its part of the overview's answer: which family (schedule with
its optimizer) is best at each budget and by how much, whether the horizon-free families (read from their full run,
never retrained) are practically equivalent to the best at every budget, what each family cost in updates, and how
fast each reaches the target.

Pure functions from the budget statistics' tables (``budget_summary`` and ``budget_comparisons`` of a dataset, the
latter with every other family against the best at each budget) to views; every number is read from those tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from schedbench.budgets import budget_fraction
from schedbench.report.answer import decision_counts
from schedbench.report.format import bold, finite, interval, number, pct, percent_label
from schedbench.report.views import FigureView, Table, in_order, with_csv
from schedbench.stats.reading import Decision

# The budget figure the overview's answer shows for a study with budgets (the section shows both).
BUDGET_ANSWER_FIGURE = "accuracy-by-budget"


@dataclass
class BudgetView:
    study: str
    name: str  # for element ids
    dataset: str
    title: str
    protocol: str
    headline: Markup
    sentences: list[Markup]
    accuracy: Table
    time_to_target: Table
    figures: list[FigureView]  # the study's budget figures over all its datasets (accuracy by budget first)


def updates_text(x) -> str:
    """A count of updates; +inf (a target never reached) reads 'never'."""
    return number(x, 0)


def _budgets(summary: pd.DataFrame) -> list[float]:
    return sorted({float(b) for b in summary["budget"]})


def _at(frame: pd.DataFrame, budget: float) -> pd.DataFrame:
    return frame[frame["budget"].astype(float) == budget]


def _where(summary: pd.DataFrame, budget: float) -> str:
    """'1/8 of the run (5 epochs, 600 updates)', or 'the full run (40 epochs, ...)'."""
    row = _at(summary, budget).iloc[0]
    what = "the full run" if budget == 1.0 else f"{budget_fraction(budget)} of the run"
    return f"{what} ({int(row['epochs'])} epochs, {updates_text(row['updates'])} updates)"


def best_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The best family's row at each budget (``best``; the highest mean where no row is flagged), by budget."""
    rows = []
    for budget in _budgets(summary):
        at = _at(summary, budget)
        flagged = at[at["best"].astype(bool)]
        rows.append(flagged.iloc[0] if len(flagged) else at.loc[at["test_accuracy_mean"].idxmax()])
    return pd.DataFrame(rows)


def _choice(row, optimizers: Mapping[str, str]) -> Markup:
    """'**cosine** with SGD with momentum 0.9': the family and the optimizer of its most frequent tuned choice."""
    optimizer = optimizers.get(row["modal_choice"], optimizers.get(row["family"]))
    return Markup("{} with {}").format(bold(row["family"]), optimizer) if optimizer else bold(row["family"])


def _comparison(comparisons: pd.DataFrame, budget: float, family: str, best: str):
    rows = _at(comparisons, budget)
    rows = rows[(rows["a"] == family) & (rows["b"] == best)]
    return rows.iloc[0] if len(rows) else None


def _span(values: list[float], digits: int) -> str:
    low, high = number(min(values), digits), number(max(values), digits)
    return low if low == high else f"{low} to {high}"


def _detectable(rows) -> Markup:
    """What inconclusive comparisons (``rows``) could have shown: the smallest difference the design would have
    detected with 80 % power, in test examples and points (the range over the rows); with too few seeds, or a
    difference without spread, the tables hold no such size and the sentence says so."""
    known = [row for row in rows if finite(row["mde_examples"])]
    if not known:
        return Markup("the design cannot state what it would have detected: too few seeds, or every seed gave the "
                      "same difference")
    return Markup("a difference of {} test examples ({} points) would have been detected with 80 % power").format(
        _span([float(row["mde_examples"]) for row in known], 1), _span([float(row["mde"]) * 100.0 for row in known], 2))


def _decision_phrase(row) -> Markup:
    """What the paired comparison of a family (a) with the best (b) showed, with the band or the design's reach."""
    decision = Decision(row["decision"])
    band = number(row["band_examples"], 3).rstrip("0").rstrip(".")
    if decision is Decision.EQUIVALENT:
        return Markup("practically equivalent to it (within +/-{} test examples)").format(band)
    if decision is Decision.INCONCLUSIVE:
        return Markup("neither shown different nor equivalent ({})").format(_detectable([row]))
    if decision is Decision.WORSE:
        return Markup("reliably worse, beyond the +/-{} example band").format(band)
    if decision is Decision.WORSE_NEGLIGIBLE:
        return Markup("reliably worse, but within the +/-{} example band").format(band)
    return Markup("{} (paired by seed)").format(decision.value)


def best_sentence(summary: pd.DataFrame, comparisons: pd.DataFrame, budget: float,
                  optimizers: Mapping[str, str]) -> Markup:
    """The best family at ``budget``, its mean and interval, by how much its mean exceeds the next family's, and what
    the paired comparison of the next with it decided."""
    at = _at(summary, budget)
    best = best_rows(at).iloc[0]
    lead = Markup("At {}, {} is best: {} test accuracy {}").format(
        _where(summary, budget), _choice(best, optimizers), pct(best["test_accuracy_mean"]),
        interval(best["test_accuracy_ci_low"], best["test_accuracy_ci_high"]))
    others = at[at["family"] != best["family"]]
    if others.empty:
        return lead + Markup(", the only family.")
    runner = others.loc[others["test_accuracy_mean"].idxmax()]
    gap = float(best["test_accuracy_mean"] - runner["test_accuracy_mean"])
    lead += Markup(", {} points ({} of {} test examples) above the next, {} ({})").format(
        number(gap * 100.0, 2), number(gap * best["n_test"], 1), int(best["n_test"]), bold(runner["family"]),
        pct(runner["test_accuracy_mean"]))
    paired = _comparison(comparisons, budget, runner["family"], best["family"])
    if paired is None:
        return lead + Markup(".")
    return lead + Markup("; paired by seed, {} is {}.").format(runner["family"], _decision_phrase(paired))


def horizon_free(summary: pd.DataFrame) -> list[str]:
    """The families read from their full run at some budget below 1 (obtained == 'read'), in table order."""
    read = summary[(summary["obtained"] == "read") & (summary["budget"].astype(float) < 1.0)]
    return list(dict.fromkeys(read["family"]))


def equivalence_calls(summary: pd.DataFrame, comparisons: pd.DataFrame, family: str) -> list[tuple[float, str, object]]:
    """(budget, call, comparison row or None) of ``family`` against the best at each budget: 'best' where it is the
    best, else the comparison's decision ('no comparison' when the table has none)."""
    calls = []
    for _, best in best_rows(summary).iterrows():
        budget = float(best["budget"])
        if best["family"] == family:
            calls.append((budget, "best", None))
            continue
        row = _comparison(comparisons, budget, family, best["family"])
        calls.append((budget, row["decision"] if row is not None else "no comparison", row))
    return calls


def practically_equivalent(call: str) -> bool:
    """A call of :func:`equivalence_calls` that counts as practically equivalent to the best: the best itself, or a
    difference shown to lie inside the band (equivalent, or reliable but negligible: ``Decision.tie``), as
    ``best_by_budget.csv``'s ``practically_equivalent`` counts it."""
    return call == "best" or (call in {d.value for d in Decision} and Decision(call).tie)


# How a family whose equivalence to the best the report calls got its result at each budget.
READ_WORDS = "horizon-free: read from its full run at each shorter budget, no retraining"
ANYTIME_WORDS = "warmup-stable-decay: trained for each budget, its cooldown over the budget's last 20 % or so"


def called_families(summary: pd.DataFrame, anytime: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(family, how it was obtained) of the families whose equivalence to the best the report calls: the
    horizon-free ones, then the ``anytime`` ones (warmup-stable-decay, claimed stoppable at any budget)."""
    free = horizon_free(summary)
    present = set(summary["family"])
    return [(f, READ_WORDS) for f in free] + [(f, ANYTIME_WORDS) for f in anytime if f in present and f not in free]


def horizon_free_sentence(summary: pd.DataFrame, comparisons: pd.DataFrame, family: str,
                          how: str = READ_WORDS) -> Markup:
    """Whether a family is the best or practically equivalent to it (:func:`practically_equivalent`) at every
    budget, with each budget's call, and what the design could have detected where it was inconclusive."""
    calls = equivalence_calls(summary, comparisons, family)
    head = Markup("{} ({})").format(bold(family), how)
    parts = []
    for call in dict.fromkeys(call for _, call, _ in calls):
        budgets = [(b, row) for b, c, row in calls if c == call]
        text = Markup("{} at {}").format("the best" if call == "best" else call,
                                         ", ".join(budget_fraction(b) for b, _ in budgets))
        if call == Decision.INCONCLUSIVE.value:
            text += Markup(" (there {})").format(_detectable([row for _, row in budgets if row is not None]))
        parts.append(text)
    if all(practically_equivalent(call) for _, call, _ in calls):
        return Markup("{} is practically equivalent to the best family at every budget, within the band: {}.").format(
            head, Markup("; ").join(parts))
    return Markup("{} is not shown practically equivalent to the best at every budget: {}.").format(
        head, Markup("; ").join(parts))


def cost_sentence(summary: pd.DataFrame) -> Markup:
    """Each family's training cost per seed: the updates it trained summed over the budgets (every grid variant; a
    budget read from the full run costs nothing), and how many budgets it trained."""
    parts, totals = [], {}
    for family, rows in summary.groupby("family", sort=False):
        totals[family] = float(rows["training_updates"].sum())
    cheapest = min((t for t in totals.values() if t > 0), default=0.0)
    for family, rows in summary.groupby("family", sort=False):
        trained = int((rows["obtained"] == "trained").sum())
        ratio = f", {totals[family] / cheapest:.1f} x the cheapest" if cheapest and totals[family] != cheapest else ""
        parts.append(Markup("{} {} ({} of {} budgets trained{})").format(
            bold(family), updates_text(totals[family]), trained, len(rows), ratio))
    return Markup("Cost per seed, in updates trained over all budgets and every variant of the grid (a budget read "
                  "from the full run costs none): {}.").format(Markup("; ").join(parts))


def wall_seconds_sentence(seconds: Mapping[str, float]) -> Markup | None:
    """Each family's share of the measured wall time of the training jobs (``seconds``: family -> seconds; None when
    no benchmark file was read)."""
    known = {family: value for family, value in seconds.items() if finite(value)}
    if not known:
        return None
    return Markup("Wall time, every budget and seed together (each training job's measured seconds shared out by "
                  "the family's part of its runs; the replicas of a job train side by side, so this is a share, not a "
                  "separate timing): {}.").format(Markup("; ").join(
                      Markup("{} {} s").format(bold(family), number(value, 0)) for family, value in known.items()))


def time_to_target_sentence(summary: pd.DataFrame) -> Markup:
    """At the full budget: the fastest family to the target (median updates with its interval, seeds reaching it)
    and the families whose median run never reached it."""
    full = _at(summary, max(_budgets(summary)))
    target = pct(full["target_accuracy"].iloc[0])
    finite_rows = full[full["updates_to_target_median"].apply(finite)]
    never = full[~full["updates_to_target_median"].apply(finite)]
    if finite_rows.empty:
        return Markup("Time to target ({} validation accuracy): no family's median run reached it.").format(target)
    fastest = finite_rows.loc[finite_rows["updates_to_target_median"].idxmin()]
    text = Markup("Time to target ({} validation accuracy) over the full run: fastest {}, median {} updates {}, "
                  "reached by {} of {} seeds").format(
        target, bold(fastest["family"]), updates_text(fastest["updates_to_target_median"]),
        _updates_interval(fastest), int(fastest["reached_target"]), int(fastest["n_seeds"]))
    if len(never):
        text += Markup("; the median run of {} never reached it").format(
            Markup(", ").join(bold(f) for f in never["family"]))
    return text + Markup(".")


def _updates_interval(row) -> str:
    low, high = row["updates_to_target_ci_low"], row["updates_to_target_ci_high"]
    if pd.isna(low) or pd.isna(high):
        return "(no interval: too few seeds)"
    return f"[{updates_text(low)}, {updates_text(high)}]"


def headline(summary: pd.DataFrame) -> Markup:
    """'Best family by budget: **cosine** at 1/8 and 1/4; **wsd** at 1/2 and 1.' (consecutive budgets grouped; one
    family best throughout: 'at every budget')."""
    stretches = _stretches(best_rows(summary))
    return Markup("Best family by budget: {}.").format(Markup("; ").join(
        Markup("{} at {}").format(bold(family), _budgets_text(budgets, every=len(stretches) == 1))
        for family, budgets in stretches))


def _budgets_text(budgets: Sequence[float], every: bool) -> str:
    return "every budget" if every and len(budgets) > 1 else " and ".join(map(budget_fraction, budgets))


def _stretches(best: pd.DataFrame, key=lambda row: row["family"]) -> list[tuple[object, list[float]]]:
    """Consecutive budgets with the same ``key`` of their best row, as (key, [budgets])."""
    stretches: list[tuple[object, list[float]]] = []
    for _, row in best.iterrows():
        if stretches and stretches[-1][0] == key(row):
            stretches[-1][1].append(float(row["budget"]))
        else:
            stretches.append((key(row), [float(row["budget"])]))
    return stretches


def _accuracy_cell(row) -> Markup:
    cell = Markup("{} {}, {}").format(pct(row["test_accuracy_mean"]),
                                      interval(row["test_accuracy_ci_low"], row["test_accuracy_ci_high"]),
                                      row["obtained"])
    return cell + Markup(", <strong>best</strong>") if bool(row["best"]) else cell


def _ttt_cell(row) -> str:
    return (f"{updates_text(row['updates_to_target_median'])} {_updates_interval(row)}; "
            f"{int(row['reached_target'])} of {int(row['n_seeds'])} reached")


def budget_tables(summary: pd.DataFrame, *, families: Sequence[str], name: str, protocol: str, title: str,
                  confidence: float) -> tuple[Table, Table]:
    """(test accuracy by family x budget with each family's cost, time to target by family x budget)."""
    conf = percent_label(confidence)
    summary = in_order(summary, "family", list(families))
    budgets = _budgets(summary)
    headers = [f"{budget_fraction(b)} ({int(_at(summary, b)['epochs'].iloc[0])} epochs)" for b in budgets]
    accuracy, ttt = [], []
    for family, rows in summary.groupby("family", sort=False):
        cells = {float(r["budget"]): r for _, r in rows.iterrows()}
        accuracy.append([family, *(_accuracy_cell(cells[b]) if b in cells else "n/a" for b in budgets),
                         updates_text(rows["training_updates"].sum())])
        ttt.append([family, *(_ttt_cell(cells[b]) if b in cells else "n/a" for b in budgets)])
    n_test, seeds = int(summary["n_test"].max()), int(summary["n_seeds"].max())
    accuracy_table = Table(
        id=f"budget-accuracy-{name}-{protocol}",
        caption=(f"{title}: test accuracy of each family tuned at each budget (chosen on validation rows at that "
                 f"budget, scored on {n_test} held-out test rows): the mean over {seeds} seeds with its {conf} "
                 f"bootstrap interval; read = taken from the full run's history at the budget's last epoch (no "
                 f"retraining), trained = a run for that budget; best = the highest mean at that budget. Last column: "
                 f"the updates each family trained per seed over all budgets and every variant of the grid."),
        columns=["Family", *headers, "Updates trained per seed"], rows=accuracy)
    target = pct(summary["target_accuracy"].iloc[0])
    ttt_table = Table(
        id=f"budget-time-to-target-{name}-{protocol}",
        caption=(f"{title}: updates until the tuned choice's validation accuracy first reaches the target {target} "
                 f"(at the end of an epoch, within the budget): the median over seeds with its {conf} interval "
                 f"('never': not reached), and how many seeds reached it."),
        columns=["Family", *headers], rows=ttt)
    return (with_csv(accuracy_table, summary, f"budget-summary-{name}-{protocol}", collapsed=False),
            with_csv(ttt_table, None, collapsed=False))


def budget_view(summary: pd.DataFrame, comparisons: pd.DataFrame, *, study: str, name: str, dataset: str, title: str,
                protocol: str, families: Sequence[str], optimizers: Mapping[str, str], confidence: float,
                figures: Sequence[FigureView] = (), anytime: Sequence[str] = (),
                wall_seconds: Mapping[str, float] | None = None) -> BudgetView:
    """One (study with budgets, dataset, protocol): the headline, a sentence per budget on its best family, one per
    horizon-free family on equivalence, the cost and the time to target, and the two tables. ``optimizers``: a
    variant's (or a family's) optimizer in words, for the best family's most frequent choice."""
    summary = in_order(summary, "family", list(families))
    sentences = [best_sentence(summary, comparisons, b, optimizers) for b in _budgets(summary)]
    sentences += [horizon_free_sentence(summary, comparisons, f, how) for f, how in called_families(summary, anytime)]
    wall = wall_seconds_sentence(wall_seconds or {})
    sentences += [cost_sentence(summary), *([wall] if wall else []), time_to_target_sentence(summary)]
    accuracy, ttt = budget_tables(summary, families=families, name=name, protocol=protocol, title=title,
                                  confidence=confidence)
    return BudgetView(study, name, dataset, title, protocol, headline(summary), sentences, accuracy, ttt,
                      list(figures))


def equivalence_reach(comparisons: pd.DataFrame, min_seeds: int | None) -> Markup | None:
    """What the equivalence calls could not do: with fewer paired seeds than an equivalence call needs
    (report.equivalence_min_seeds), no family can be shown equivalent to the best, only not shown different."""
    if min_seeds is None or comparisons.empty or int(comparisons["n_pairs"].max()) >= min_seeds:
        return None
    pairs = int(comparisons["n_pairs"].max())
    return Markup("With {} seeds paired per comparison, fewer than the {} an equivalence call needs "
                  "(report.equivalence_min_seeds), no family could be shown equivalent to the best: a near tie reads "
                  "inconclusive, and the sizes above are what this design could have detected.").format(
        pairs, min_seeds)


def budget_answer(study: str, summaries: pd.DataFrame, comparisons: pd.DataFrame,
                  optimizers: Mapping[str, str], anytime: Sequence[str] = (),
                  min_seeds: int | None = None) -> list[Markup]:
    """The overview's answer for a study with budgets, over its datasets: which schedule, with which optimizer, for
    which budget (first); how far the best leads the next family and what the paired comparisons decided; and
    whether each horizon-free family is practically equivalent to the best."""
    per_dataset, leads, decisions, calls = [], [], [], {}
    for dataset, summary in summaries.groupby("dataset", sort=False):
        best = best_rows(summary)
        epochs = int(_at(summary, 1.0)["epochs"].iloc[0]) if (summary["budget"] == 1.0).any() else None
        stretches = _stretches(best, key=lambda row: _choice(row, optimizers))
        per_dataset.append(Markup("on {}, {}").format(dataset, Markup("; ").join(
            Markup("{} at {}").format(choice, _budgets_text(budgets, every=len(stretches) == 1))
            for choice, budgets in stretches))
            + (Markup(" (the full run: {} epochs)").format(epochs) if epochs else Markup("")))
        of_dataset = comparisons[comparisons["dataset"] == dataset]
        for _, row in best.iterrows():
            at = _at(summary, float(row["budget"]))
            others = at[at["family"] != row["family"]]
            if others.empty:
                continue
            runner = others.loc[others["test_accuracy_mean"].idxmax()]
            leads.append(float(row["test_accuracy_mean"] - runner["test_accuracy_mean"]) * 100.0)
            paired = _comparison(of_dataset, float(row["budget"]), runner["family"], row["family"])
            if paired is not None:
                decisions.append(paired["decision"])
        for family, how in called_families(summary, anytime):
            calls.setdefault((family, how), []).extend(equivalence_calls(summary, of_dataset, family))
    sentences = [Markup("{} (study {}, every family tuned at each budget on validation rows and scored on held-out "
                        "test rows): {}.").format(bold("Which schedule, with which optimizer, for which budget"),
                                                  study, Markup("; ").join(per_dataset))]
    if leads:
        spread = (number(min(leads), 2) if math.isclose(min(leads), max(leads))
                  else f"{number(min(leads), 2)} to {number(max(leads), 2)}")
        sentences.append(Markup("By how much: the best leads the next family by {} points of test accuracy across the "
                                "{} (dataset, budget) problems{}.").format(
            spread, len(leads), Markup("; paired by seed the next family is {}").format(
                decision_counts(pd.Series(decisions))) if decisions else ""))
    for (family, how), family_calls in calls.items():
        n = len(family_calls)
        tally = pd.Series([call for _, call, _ in family_calls])
        equal = int(tally.map(practically_equivalent).sum())
        verdict = ("practically equivalent to the best (or the best) on every one of the {} problems" if equal == n
                   else "practically equivalent to the best (or the best) on {} of the {} problems").format(
            *([n] if equal == n else [equal, n]))
        counts = Markup(", ").join(Markup("{} {}").format(int((tally == c).sum()), c) for c in dict.fromkeys(tally))
        undecided = [row for _, call, row in family_calls if call == Decision.INCONCLUSIVE.value and row is not None]
        could = Markup("; where inconclusive, {}").format(_detectable(undecided)) if undecided else Markup("")
        sentences.append(Markup("{} ({}): {} ({}){}.").format(
            bold(family), "horizon-free, read from its full run" if how == READ_WORDS else "warmup-stable-decay, "
            "trained for each budget", verdict, counts, could))
    reach = equivalence_reach(comparisons, min_seeds) if calls else None
    return sentences + ([reach] if reach else [])
