"""The Hydra job this code runs in: its number in a sweep, its command-line overrides, and the
Optuna trial it is (under `hparams_search=...`)."""

from hydra.core.hydra_config import HydraConfig


def job_info() -> dict:
    """The Hydra job's number and overrides (empty when called from Python)."""
    if not HydraConfig.initialized():
        return {}
    hydra_cfg = HydraConfig.get()
    return {"job": hydra_cfg.job.get("num"), "overrides": list(hydra_cfg.overrides.task)}


def optuna_trial() -> dict | None:
    """The Optuna trial this job runs (its storage, study, trial id and the study's pruner
    config), else None. The sweep (sweeps/optuna_sweep.py) passes them as `hydra.sweeper.*`
    overrides."""
    if not HydraConfig.initialized():
        return None
    sweeper = HydraConfig.get().sweeper
    if sweeper.get("trial_id") is None:
        return None
    return {key: sweeper[key] for key in ("storage", "study_name", "trial_id", "pruner")}
