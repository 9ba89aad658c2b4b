"""The Hydra job this code runs in: its number in a sweep and its command-line overrides."""

from hydra.core.hydra_config import HydraConfig


def job_info() -> dict:
    """The Hydra job's number and overrides (empty when called from Python)."""
    if not HydraConfig.initialized():
        return {}
    hydra_cfg = HydraConfig.get()
    return {"job": hydra_cfg.job.get("num"), "overrides": list(hydra_cfg.overrides.task)}
