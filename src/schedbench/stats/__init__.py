"""Statistics for comparing learning-rate schedules over seeds.

* :mod:`schedbench.stats.estimators`: small pure functions over numpy arrays (interquartile mean, bootstrap
  and Wilson intervals, P(A>B), effect sizes, paired tests, Friedman, Holm), with their conventions and
  degenerate cases.
* :mod:`schedbench.stats.tabulate`: the tables built from them (summary, comparisons, Friedman,
  replication of the article's numbers, majority-class accuracy), whose columns are declared in
  :mod:`schedbench.tables`; ``paired_comparisons`` is the comparisons table's core, on counts per name.
* :mod:`schedbench.stats.reading`: ``Reading``, the reading of P(A>B) as an enum (imports nothing else, so
  the report can word it without loading the statistics).
* :mod:`schedbench.stats.distributions`: the per-seed distributions the figures draw, as tables.
* :mod:`schedbench.stats.ranks`: rank statistics over datasets as pure functions (Friedman, Iman-Davenport,
  Nemenyi's critical difference and groups, the rank gap a design detects).
* :mod:`schedbench.stats.suite`: the verdict across datasets, the tables built on them.
* :mod:`schedbench.stats.studies`: the tables of a study's families and variants (attribution of a gain to
  the optimizer settings and the schedule, sensitivity over a grid, the variant tuned on validation per seed
  by ``schedbench.studies.SELECTION_RULE``, its summary and the families compared on test).

Nothing is re-exported here: import the module you need.
"""
