"""Statistics for comparing learning-rate schedules over seeds.

* :mod:`schedbench.stats.estimators`: small pure functions over numpy arrays (interquartile mean, bootstrap
  and Wilson intervals, P(A>B), effect sizes, paired tests, Friedman, Holm), with their conventions and
  degenerate cases.
* :mod:`schedbench.stats.tabulate`: the tables built from them (summary, comparisons, Friedman,
  replication of the article's numbers, majority-class accuracy), whose columns are declared in
  :mod:`schedbench.tables`.

Nothing is re-exported here: import the module you need.
"""
