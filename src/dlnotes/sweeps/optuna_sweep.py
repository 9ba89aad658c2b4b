"""The project's Optuna sweep: ask the study for trials, run them as Hydra jobs, tell it how
each ended.

Trials run `n_jobs` at a time through Hydra's launcher (basic: one after another in this
process; `hydra/launcher=parallel`: joblib processes; `hydra/launcher=slurm`: Slurm jobs). Each
job gets its sampled values as overrides, and `hydra.sweeper.{storage,study_name,trial_id}`,
through which its pruning callback reaches the trial (`callbacks/optuna_pruning.py`). A failed
job is a failed trial; the sweep goes on while at most `max_failure_rate` of its trials failed.
"""

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import optuna
from hydra.core.utils import JobReturn, JobStatus
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from dlnotes.callbacks.optuna_pruning import OUTPUT_DIR, PRUNED_AT_EPOCH
from dlnotes.config.optuna_storage import absolute_storage
from dlnotes.errors import ConfigError, one_line
from dlnotes.run.result import RESULT_FILE, read_job_result
from dlnotes.sweeps.override_text import override_value
from dlnotes.sweeps.search_space import SearchSpaceError, split_arguments
from dlnotes.sweeps.study import (
    ERROR,
    JOURNAL_FILE,
    fail_interrupted_trials,
    open_study,
    trial_by_number,
    trials_done,
    write_study_file,
)

log = logging.getLogger(__name__)

optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweep logs each trial itself


@dataclass
class Sweep:
    """What one command asks: the study, its search space and the fixed overrides."""

    study: optuna.Study
    storage: str
    space: dict
    fixed: list[str]
    objectives: list[str]
    monitor: str | None  # the model's: the job's return value
    settings: DictConfig
    sweep_dir: Path


def prepare(settings: DictConfig, config: DictConfig, arguments: list[str], validate) -> Sweep:
    """Everything checked before the first trial: the space, the objectives, the sampler and
    pruner, and one composed config (`validate`: the sweeper's validate_batch_is_legal)."""
    space, fixed = split_arguments(OmegaConf.to_container(settings.params or {}), arguments)
    if not space:
        raise SearchSpaceError(
            "search space: nothing to search: set hydra.sweeper.params or give a range on the"
            " command line (model.optimizer.lr=tag(log,interval(1e-4,1e-1)))"
        )
    objectives, directions = objectives_of(settings, config)
    sampler, pruner = _build(settings.sampler, "sampler"), _build(settings.pruner, "pruner")
    if len(directions) > 1 and not isinstance(pruner, optuna.pruners.NopPruner):
        raise ConfigError("Optuna prunes single-objective studies only: drop the pruner")
    _check_composes(validate, fixed, space)
    sweep_dir = Path(config.hydra.sweep.dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    storage = _storage(settings.storage, sweep_dir)
    name = settings.study_name or sweep_dir.name
    study = open_study(storage, name, directions, sampler, pruner)
    if study.trials:  # continued: a seeded sampler must not draw the first command's values again
        study.sampler = _build(settings.sampler, "sampler", seed_offset=len(study.trials))
    write_study_file(sweep_dir, storage, name, objectives)
    monitor = config.model.get("monitor")
    return Sweep(study, storage, space, fixed, objectives, monitor, settings, sweep_dir)


def objectives_of(settings: DictConfig, config: DictConfig) -> tuple[list[str], list[str]]:
    """(metric names, directions): one per objective; by default the model's monitor."""
    directions = settings.direction
    directions = [directions] if isinstance(directions, str) else list(directions)
    objectives = list(settings.objectives or [config.model.get("monitor")])
    if None in objectives:
        raise ConfigError(
            "the sweep optimizes the model's monitored metric, and this model monitors none:"
            " set hydra.sweeper.objectives"
        )
    if len(objectives) != len(directions):
        raise ConfigError(
            f"hydra.sweeper.objectives {objectives} and direction {directions} must be lists"
            " of the same length"
        )
    bad = [d for d in directions if d not in ("maximize", "minimize")]
    if bad:
        raise ConfigError(f"hydra.sweeper.direction: {bad[0]!r} is neither maximize nor minimize")
    return objectives, directions


def _build(node: DictConfig | None, what: str, seed_offset: int = 0):
    target = (node or {}).get("_target_", "")
    seeded = node is not None and node.get("seed") is not None and seed_offset
    try:
        built = instantiate(node, **({"seed": node.seed + seed_offset} if seeded else {}))
    except Exception as error:
        raise ConfigError(
            f"hydra.sweeper.{what}: cannot build {target!r}"
            f" ({one_line(error.__cause__ or error).rstrip(':')});"
            f" choose one with hydra/sweeper/{what}=NAME (conf/hydra/sweeper/{what}/)"
        ) from None
    expected = optuna.samplers.BaseSampler if what == "sampler" else optuna.pruners.BasePruner
    if not isinstance(built, expected):
        raise ConfigError(f"hydra.sweeper.{what}: {target!r} is not an Optuna {what}")
    return built


def _check_composes(validate, fixed: list[str], space: dict) -> None:
    """Compose one trial's config: an unknown key in the space fails here, in one line."""
    first = [f"{key}={override_value(_first_value(d))}" for key, d in space.items()]
    try:
        validate([fixed + first])
    except Exception as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        raise SearchSpaceError(f"search space: {' '.join(lines[:1] + lines[-1:])}") from None


def _first_value(distribution):
    return distribution.choices[0] if hasattr(distribution, "choices") else distribution.low


def _storage(spec: str | None, sweep_dir: Path) -> str:
    if spec:
        return absolute_storage(str(spec), Path.cwd())
    return str((sweep_dir / JOURNAL_FILE).resolve())


def run(sweep: Sweep, launcher) -> list[JobReturn]:
    """Run the trials the study still needs; return the jobs' results."""
    retried = fail_interrupted_trials(sweep.study)
    if retried:
        log.warning(f"trials {retried} were left running by a stopped sweep: failed, run again")
    done = trials_done(sweep.study)
    to_run = max(0, sweep.settings.n_trials - done)
    log.info(
        f"study {sweep.study.study_name} ({sweep.storage}): {done} trials done,"
        f" {to_run} to run of n_trials={sweep.settings.n_trials}"
    )
    returns, ran, failed, job = [], 0, 0, 0
    while ran < to_run:
        batch = min(sweep.settings.n_jobs, to_run - ran)
        trials = [sweep.study.ask(sweep.space) for _ in range(batch)]
        results = launcher.launch([_overrides(sweep, t) for t in trials], initial_job_idx=job)
        for trial, result in zip(trials, results, strict=True):
            failed += tell(sweep, trial, result) == TrialState.FAIL
        returns += results
        ran, job = ran + batch, job + batch
        if failed / ran > sweep.settings.max_failure_rate:
            raise ConfigError(
                f"{failed} of {ran} trials failed, more than hydra.sweeper.max_failure_rate="
                f"{sweep.settings.max_failure_rate}: their errors are in {sweep.sweep_dir}"
                "/summary.md (continue the study with the same command once fixed)"
            )
    return returns


def _overrides(sweep: Sweep, trial: optuna.Trial) -> list[str]:
    sampled = [f"{key}={override_value(value)}" for key, value in trial.params.items()]
    identity = [
        f"hydra.sweeper.storage='{sweep.storage}'",
        f"hydra.sweeper.study_name='{sweep.study.study_name}'",
        f"hydra.sweeper.trial_id={trial._trial_id}",  # what optuna.Trial(study, id) takes
    ]
    return sweep.fixed + sampled + identity


def tell(sweep: Sweep, trial: optuna.Trial, result: JobReturn) -> TrialState:
    """Tell the study how the trial's job ended: complete with its values, pruned, or failed."""
    output_dir = _output_dir(result)
    if output_dir:
        trial.set_user_attr(OUTPUT_DIR, output_dir)
    if result.status == JobStatus.FAILED:
        return _fail(sweep, trial, one_line(result._return_value))
    pruned_at = trial_by_number(sweep.study, trial.number).user_attrs.get(PRUNED_AT_EPOCH)
    if pruned_at is not None:
        sweep.study.tell(trial, state=TrialState.PRUNED)
        log.info(f"trial {trial.number}: pruned at epoch {pruned_at}")
        return TrialState.PRUNED
    try:
        values = [objective_value(sweep, name, result, output_dir) for name in sweep.objectives]
    except ConfigError as error:
        return _fail(sweep, trial, str(error))
    sweep.study.tell(trial, values)
    log.info(f"trial {trial.number}: {dict(zip(sweep.objectives, values, strict=True))}")
    return TrialState.COMPLETE


def _fail(sweep: Sweep, trial: optuna.Trial, reason: str) -> TrialState:
    trial.set_user_attr(ERROR, reason)
    sweep.study.tell(trial, state=TrialState.FAIL)
    log.warning(f"trial {trial.number} failed: {reason}")
    return TrialState.FAIL


def _output_dir(result: JobReturn) -> str | None:
    hydra_cfg = result.hydra_cfg
    return str(hydra_cfg.hydra.runtime.output_dir) if hydra_cfg is not None else None


def objective_value(sweep: Sweep, name: str, result: JobReturn, output_dir: str | None) -> float:
    """The job's value of one objective: its return value for the model's monitor, else from
    its result.json (`duration_s`, `parameters`, or a metric it logged)."""
    if name == sweep.monitor:
        value = result.return_value
    else:
        path = Path(output_dir or "") / RESULT_FILE
        recorded = read_job_result(path) if path.is_file() else {}
        value = recorded.get(name, recorded.get("metrics", {}).get(name))
    if value is None:
        raise ConfigError(f"the run recorded no value of the objective {name}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"the objective {name} is {value}")
    return value
