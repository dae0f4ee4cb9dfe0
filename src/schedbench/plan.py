"""The plan: what a validated configuration asks to run, computed once.

studies -> datasets -> protocols -> variants and controls -> training jobs. Each dataset carries its resolved
model, training settings and split sizes under every protocol it is used with; each study its seeds and their
chunks (one training job per chunk), its variants, controls, attribution pairs and varied parameters. The workflow
builds the plan when it is parsed and hands each rule the part it depends on as ``params``; the scripts, figures
and the report read the plan (or their part of it), never the raw configuration.

A plan is plain data: :meth:`Plan.to_dict` gives builtins only (so that Snakemake's params trigger sees a change)
and :meth:`Plan.from_dict` rebuilds it. Nothing heavy is imported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import yaml

from schedbench import studies
from schedbench.budgets import epochs_of_budget
from schedbench.engines.spec import EVALUATION_ROWS, ModelSpec
from schedbench.protocols import PROTOCOLS, Sizes
from schedbench.schedules import build_schedule, steps_per_epoch
from schedbench.stats.reading import band_examples
from schedbench.studies import Variant

# A training job's name for a budget below the full run: '<chunk of seeds>.budget-<fraction>'.
BUDGET_JOB = ".budget-"


def budget_text(budget: float) -> str:
    """A budget as job names and tables show it: 0.25, 1.0."""
    return studies.value_text(float(budget))


def dataset_training(config: dict, dataset: str) -> dict:
    """``training`` with the dataset's own ``epochs``, ``batch_size`` and ``jit_compile`` where it sets them."""
    own = config["datasets"][dataset]["training"]
    return {**config["training"], **{key: own[key] for key in ("epochs", "batch_size", "jit_compile") if key in own}}


# The keys that say which hidden layers a model has; a block setting either replaces both of the block below it.
ARCHITECTURE_KEYS = ("hidden_units", "layers")


def dataset_own_model(config: dict, dataset: str) -> dict:
    """The model settings a dataset sets itself: its ``model`` block, and ``training.hidden_units`` (the older
    place of its hidden units)."""
    entry = config["datasets"][dataset]
    own = dict(entry.get("model", {}))
    if "hidden_units" in entry.get("training", {}):
        own.setdefault("hidden_units", entry["training"]["hidden_units"])
    return own


def dataset_model(config: dict, dataset: str) -> dict:
    """``model`` with the dataset's own settings (:func:`dataset_own_model`) in place of its keys; its
    ``hidden_units`` or ``layers`` replaces either of the top level's."""
    own = dataset_own_model(config, dataset)
    replaced = ARCHITECTURE_KEYS if any(key in own for key in ARCHITECTURE_KEYS) else ()
    return {**{key: value for key, value in config["model"].items() if key not in replaced}, **own}


def dataset_split_sizes(config: dict, dataset: str, protocol: str) -> Sizes:
    return PROTOCOLS[protocol].sizes(config["datasets"][dataset]["rows"], config["validation_fraction"],
                                     config["test_fraction"])


def updates_per_epoch(config: dict, dataset: str, protocol: str) -> int:
    """Optimizer updates in one epoch of ``dataset``'s training rows (the last batch may be partial)."""
    return steps_per_epoch(dataset_split_sizes(config, dataset, protocol)[0],
                           dataset_training(config, dataset)["batch_size"])


SCORE_TEXT = {
    "val_accuracy": "final-epoch validation accuracy",
    "test_accuracy": "test accuracy of the variant chosen on validation rows",
}


def seeds_of(study: dict) -> list[int]:
    """The seeds of a study's settings (``studies.<name>``): a list, or ``{start, count}``."""
    seeds = study["seeds"]
    if isinstance(seeds, list):
        return list(seeds)
    start = seeds.get("start", 0)
    return list(range(start, start + seeds["count"]))


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset as every study that uses it trains it."""

    name: str
    entry: dict  # its ``datasets`` entry, validated (source, rows, features, labels, preprocessing, ...)
    model: dict  # the resolved model block: hidden_units or layers, hidden_activation, init_stddev, ...
    training: dict  # engine, epochs, batch_size, seeds_per_job
    sizes: dict  # protocol -> (training, validation, test) rows, for the protocols it is used with

    @property
    def classes(self) -> int:
        return len(self.entry["labels"])

    @property
    def model_spec(self) -> ModelSpec:
        return ModelSpec.from_config(self.model, features=self.entry["features"], classes=self.classes)

    @property
    def model_text(self) -> str:
        """The network as a Keras user writes it: 'Conv1D(25, 5, strides 2, padding 1, relu) then Flatten then
        Dense(10, softmax)'."""
        return self.model_spec.text

    @property
    def loss_text(self) -> str:
        return ("binary cross-entropy" if self.classes == 2
                else f"sparse categorical cross-entropy over {self.classes} classes")

    def updates_per_epoch(self, protocol: str) -> int:
        return steps_per_epoch(self.sizes[protocol][0], self.training["batch_size"])

    def gflop_per_run_epoch(self, protocol: str) -> float:
        """The arithmetic of one run's epoch: a training step (forward and backward, about three forward passes) on
        every training row and a forward pass on every validation row; 2 FLOP per multiply-add."""
        train, val, _ = self.sizes[protocol]
        return 2 * self.model_spec.multiply_adds_per_example() * (3 * train + val) / 1e9

    def memory_per_run_mb(self, protocol: str) -> float:
        """What one more run adds to a replica training job's memory, in MB: its activations on the most rows it
        holds at once (a batch, or a block of ``EVALUATION_ROWS`` validation or test rows; x 2.5 for the
        gradients' and evaluation's temporaries), every scored row's features and outputs (gathered whole, then
        scored block by block), and its weights x 40 (their gradients, optimizer slots and averages, and the copies
        an update gathers and scatters); at least 2 MB. Measured (benchmarks/README.md, "Levers"), a job of 180
        runs less TensorFlow's ~700 MB: MNIST-1D MLP 3.4 MB per run (3.5 estimated), CNN 5.5 (6.7)."""
        spec = self.model_spec
        scored = max(self.sizes[protocol][1:])
        rows = max(self.training["batch_size"], min(scored, EVALUATION_ROWS))
        floats = (2.5 * rows * spec.floats_per_example() + scored * (spec.features + 3 * spec.outputs)
                  + 40 * spec.parameter_count())
        return max(2.0, floats * 4 / 1e6)


@dataclass(frozen=True)
class StudyPlan:
    """One study: its datasets and protocols, its seeds in chunks, and every variant its jobs train."""

    name: str
    description: str
    datasets: tuple
    protocols: tuple
    seeds: tuple
    chunks: dict  # job name ('seeds-0-49') -> its seeds
    families: tuple  # the study's schedule families, in study order
    variants: tuple  # Variant: the families' variants, then the controls they need
    parameters: tuple  # the varied parameters: the tables' parameter columns
    attributions: tuple  # (schedule, its control) pairs, of families in a tuning study; empty when nothing splits
    controls: bool  # the study trains controls (and the report attributes gains)
    grid: dict  # the study's grid ({} without one)
    tuning: bool  # a study with a grid: tuned on validation rows, scored on test rows
    budgets: tuple = (1.0,)  # fractions of each dataset's epochs, ascending, the full run (1.0) last
    # dataset -> protocol -> {budget text: names of the variants trained again for that budget < 1}: those whose
    # rates need the run's length (Schedule.horizon_free); the others are read from their full run.
    retrained: dict = field(default_factory=dict)

    @property
    def compared(self) -> list[str]:
        """The schedules compared with each other; the controls enter through the attribution."""
        return [variant.name for variant in self.variants if not variant.control]

    @property
    def suite(self) -> bool:
        """A tuning study over several datasets has a verdict across them."""
        return self.tuning and len(self.datasets) > 1

    def primary_score(self, protocol: str) -> str:
        """The column of runs.csv a run of this study is judged by under ``protocol``: a tuning study chooses each
        family's variant on validation rows and scores the choice on the test rows; a study without a grid compares
        its schedules' final-epoch validation accuracy, under every protocol."""
        return "test_accuracy" if self.tuning and PROTOCOLS[protocol].has_test_rows else "val_accuracy"

    @property
    def has_budgets(self) -> bool:
        return len(self.budgets) > 1

    def trained_variants(self, dataset: str, protocol: str, budget: float = 1.0) -> list[Variant]:
        """The variants a job of ``budget`` trains: all of them for the full run, those that need the run's length
        for a shorter budget."""
        if budget == 1:
            return list(self.variants)
        names = self.retrained.get(dataset, {}).get(protocol, {}).get(budget_text(budget), [])
        return [variant for variant in self.variants if variant.name in names]

    def jobs(self, dataset: str, protocol: str) -> list[str]:
        """The training jobs of one dataset and protocol: one per chunk of seeds for the full run ('seeds-0-9'), then
        one per chunk for each shorter budget that retrains a variant ('seeds-0-9.budget-0.25')."""
        names = list(self.chunks)
        for budget in self.budgets[:-1]:
            if self.trained_variants(dataset, protocol, budget):
                names += [f"{chunk}{BUDGET_JOB}{budget_text(budget)}" for chunk in self.chunks]
        return names

    def job_seeds(self, job: str) -> tuple:
        return tuple(self.chunks[job.split(BUDGET_JOB)[0]])

    @staticmethod
    def job_budget(job: str) -> float:
        return float(job.split(BUDGET_JOB)[1]) if BUDGET_JOB in job else 1.0

    def runs_per_job(self, dataset: str, protocol: str, job: str) -> int:
        return len(self.job_seeds(job)) * len(self.trained_variants(dataset, protocol, self.job_budget(job)))


@dataclass(frozen=True)
class Plan:
    studies: dict  # name -> StudyPlan, in config order
    datasets: dict  # name -> DatasetPlan, the datasets some study uses, in config order
    report: dict  # the ``report`` settings but its thread count
    engine: str
    threads: int  # per training job
    report_threads: int  # per statistics and figures job
    split: dict  # validation_fraction, test_fraction
    download: dict  # timeout_s, retries, backoff_s
    # The baseline's catalogue entry as its variant's settings (lr0, momentum, ...): the article's rate is marked on
    # figures, and the report says where the baseline's own setting scores best.
    baseline_settings: dict
    config_text: str = field(repr=False)  # the validated configuration as YAML, shown in the report's appendix

    @property
    def baseline_lr0(self) -> float | None:
        return self.baseline_settings.get("lr0")

    @property
    def tuning_studies(self) -> list[str]:
        return [name for name, study in self.studies.items() if study.tuning]

    @property
    def plain_studies(self) -> list[str]:
        return [name for name, study in self.studies.items() if not study.tuning]

    @property
    def budget_studies(self) -> list[str]:
        """The tuning studies with budgets besides the full run."""
        return [name for name, study in self.studies.items() if study.tuning and study.has_budgets]

    @property
    def suites(self) -> list[str]:
        return [name for name, study in self.studies.items() if study.suite]

    def studies_of(self, dataset: str) -> list[StudyPlan]:
        return [study for study in self.studies.values() if dataset in study.datasets]

    def job_settings(self, study: str, dataset: str, protocol: str | None = None, budget: float = 1.0) -> dict:
        """Everything a training job's numbers depend on, and nothing else: a change to any of it reruns the
        job (Snakemake's params trigger), a change elsewhere (a mirror URL, the thread count, another study's
        schedules) does not. ``variants``: [name, family, scalar config entry] of every schedule trained: for a
        budget below 1 (which needs the ``protocol``) the variants retrained for it, over its share of the epochs.
        ``test_epochs``: the full run's epochs, besides its last, at which its models are scored on the test rows
        (each shorter budget's last epoch: the budgets read from it)."""
        of_study, of_dataset = self.studies[study], self.datasets[dataset]
        if budget != 1 and protocol is None:
            raise ValueError("a budget's job settings depend on the protocol (which variants it retrains)")
        epochs = of_dataset.training["epochs"]
        variants = of_study.trained_variants(dataset, protocol, budget) if budget != 1 else of_study.variants
        return {
            # Not its mirrors, its group, a published figure or its target: none changes a number a job computes.
            "dataset": {key: value for key, value in of_dataset.entry.items()
                        if key not in ("urls", "group", "reference", "target_accuracy")},
            "split": dict(self.split),
            "model": dict(of_dataset.model),
            "training": {**of_dataset.training, "epochs": epochs_of_budget(budget, epochs)},
            "variants": [[v.name, v.family, v.spec] for v in variants],
            "parameters": list(of_study.parameters),
            "budget": float(budget),
            "test_epochs": [epochs_of_budget(b, epochs) for b in of_study.budgets[:-1]] if budget == 1 else [],
        }

    def band(self, n: int) -> float:
        """The equivalence band in examples for a comparison scored on ``n`` rows, however the config sets it."""
        return band_examples(n, equivalence_examples=self.report.get("equivalence_examples"),
                             equivalence_points=self.report.get("equivalence_points"))

    @property
    def band_text(self) -> str:
        """The band as the config sets it, in words."""
        points = self.report.get("equivalence_points")
        if points is not None:
            return f"{points:g} points of accuracy (in examples: the points times the rows scored, over 100)"
        examples = self.band(0)
        return f"{examples:g} example{'' if examples == 1 else 's'}"

    def corrected_t_ratios(self, study: str, dataset: str) -> dict[str, float]:
        """n_val / n_train under each of the study's protocols for which Nadeau and Bengio's corrected t applies."""
        sizes = self.datasets[dataset].sizes
        return {protocol: sizes[protocol][1] / sizes[protocol][0] for protocol in self.studies[study].protocols
                if PROTOCOLS[protocol].corrected_t}

    def to_dict(self) -> dict:
        """Builtins only: what a rule receives as a param."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        return cls(
            studies={name: StudyPlan(**{**study, "variants": tuple(Variant(**v) for v in study["variants"]),
                                        "attributions": tuple(tuple(pair) for pair in study["attributions"])})
                     for name, study in data["studies"].items()},
            datasets={name: DatasetPlan(**dataset) for name, dataset in data["datasets"].items()},
            **{key: value for key, value in data.items() if key not in ("studies", "datasets")},
        )


def _chunks(seeds: list[int], size: int) -> dict[str, tuple]:
    """Stable job names: the first and last seed of each chunk, e.g. 'seeds-0-24'."""
    chunks = [tuple(seeds[i : i + size]) for i in range(0, len(seeds), size)]
    return {f"seeds-{chunk[0]}-{chunk[-1]}": chunk for chunk in chunks}


def _retrained(study: StudyPlan, datasets: dict) -> dict:
    """StudyPlan.retrained: per dataset and protocol, the variants each budget below 1 trains again."""
    out = {}
    for dataset in study.datasets:
        epochs = datasets[dataset].training["epochs"]
        for protocol in study.protocols:
            steps = datasets[dataset].updates_per_epoch(protocol)
            schedules = {v.name: build_schedule(v.name, v.spec) for v in study.variants}
            out.setdefault(dataset, {})[protocol] = {
                budget_text(budget): [name for name, schedule in schedules.items()
                                      if not schedule.horizon_free(epochs, epochs_of_budget(budget, epochs),
                                                                   steps)]
                for budget in study.budgets[:-1]
            }
    return out


def build_plan(config: dict) -> Plan:
    """The plan of a configuration that :func:`schedbench.config.validate_config` has checked."""
    plans = {}
    for name, settings in config["studies"].items():
        seeds = seeds_of(settings)
        tuning = studies.has_grid(config, name)
        plans[name] = StudyPlan(
            name=name,
            description=settings.get("description", ""),
            datasets=tuple(settings["datasets"]),
            protocols=tuple(settings["protocols"]),
            seeds=tuple(seeds),
            chunks=_chunks(seeds, config["training"]["seeds_per_job"]),
            families=tuple(settings["schedules"]),
            variants=tuple(studies.variants(config, name)),
            parameters=tuple(studies.parameters(config, name)),
            attributions=tuple(studies.attributions(config, name)),
            controls=studies.needs_controls(config, name),
            grid=dict(settings.get("grid", {})),
            tuning=tuning,
            budgets=tuple(float(budget) for budget in settings["budgets"]),
        )
    used = [d for d in config["datasets"] if any(d in study.datasets for study in plans.values())]
    datasets = {
        name: DatasetPlan(
            name=name,
            entry=config["datasets"][name],
            model=dataset_model(config, name),
            # The thread count changes no number (a job's results do not depend on it).
            training={key: value for key, value in dataset_training(config, name).items() if key != "threads"},
            sizes={protocol: dataset_split_sizes(config, name, protocol) for protocol in PROTOCOLS
                   if any(name in s.datasets and protocol in s.protocols for s in plans.values())},
        )
        for name in used
    }
    for name, study in plans.items():
        if study.has_budgets:
            plans[name] = dataclasses.replace(study, retrained=_retrained(study, datasets))
    baseline = config["report"]["baseline"]
    return Plan(
        studies=plans,
        datasets=datasets,
        # Thread counts change no number: not among the settings a job's results depend on.
        report={key: value for key, value in config["report"].items() if key != "threads"},
        engine=config["training"]["engine"],
        threads=config["training"]["threads"],
        report_threads=config["report"]["threads"],
        split={key: config[key] for key in ("validation_fraction", "test_fraction")},
        download=config["download"],
        baseline_settings=studies.shown_settings(config["schedules"][baseline]),
        config_text=yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=110),
    )
