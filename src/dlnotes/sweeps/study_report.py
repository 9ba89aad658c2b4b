"""What an Optuna sweep leaves when it ends (or stops): the summary of every trial of the
study, optimization_results.yaml (the best trial, or the Pareto front), Optuna's pictures and,
with wandb, the same in one run of the sweep's group."""

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlnotes.loggers.wandb_sweep import log_sweep_to_wandb
from dlnotes.sweeps.study import has_complete_trial
from dlnotes.sweeps.study_pictures import draw_study_pictures
from dlnotes.sweeps.summary import write_summary

log = logging.getLogger(__name__)

RESULTS_FILE = "optimization_results.yaml"


def report_study(sweep, config: DictConfig) -> None:
    table, _ = write_summary(sweep.sweep_dir)
    write_best(sweep)
    pictures = draw_study_pictures(sweep.study, sweep.objectives, sweep.sweep_dir)
    wandb = (config.get("logger") or {}).get("wandb")
    if wandb is not None and table:
        group = f"{config.hydra.job.name}-{Path(sweep.sweep_dir).name}"
        log_sweep_to_wandb(wandb, group, sweep.sweep_dir, pictures, table)


def write_best(sweep) -> None:
    """optimization_results.yaml: the best trial's values (several objectives: the front)."""
    study = sweep.study
    front = study.best_trials if has_complete_trial(study.get_trials(deepcopy=False)) else []
    record = {"name": "optuna", "study_name": study.study_name, "storage": sweep.storage}
    if len(sweep.objectives) == 1 and front:
        record |= {"best_trial": front[0].number, "best_params": front[0].params}
        record["best_value"] = front[0].value
    elif front:
        record["pareto_front"] = [
            {"trial": t.number, "params": t.params, "values": _values(sweep.objectives, t)}
            for t in front
        ]
    OmegaConf.save(OmegaConf.create(record), Path(sweep.sweep_dir) / RESULTS_FILE)


def _values(objectives: list[str], trial) -> dict:
    return dict(zip(objectives, trial.values, strict=True))
