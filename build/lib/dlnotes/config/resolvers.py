"""OmegaConf resolvers the configs use; registered when `dlnotes` is imported."""

import os
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from dlnotes.config.slurm_resources import gpus_per_node, tasks_per_node


def process_rank() -> int:
    """This process's global rank as the launcher (Lightning, torchrun, SLURM) set it; 0 alone."""
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return rank_zero_only.rank


def on_rank_zero(value, otherwise=None):
    """`value` in the rank-0 process, `otherwise` in the others (their outputs stay off disk)."""
    return value if process_rank() == 0 else otherwise


def run_stamp() -> str:
    """A run directory's name: the start time, or, when a launcher starts every rank with the
    same command (torchrun, srun), the launcher's run id, so that all ranks share one directory
    and a restarted run (torchrun restarts, SLURM requeue) finds its checkpoints again."""
    torchrun_id = os.environ.get("TORCHELASTIC_RUN_ID", "none")
    if torchrun_id != "none":
        return f"torchrun-{torchrun_id}"
    if "SLURM_JOB_ID" in os.environ and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        return f"slurm-{os.environ['SLURM_JOB_ID']}-{os.environ.get('SLURM_STEP_ID', '0')}"
    return datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")


def sweep_name() -> str | None:
    """Under `-m`: the sweep directory's name (wandb groups a sweep's runs by it); else None."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode is None or hydra_cfg.mode.name != "MULTIRUN":
        return None
    return f"{hydra_cfg.job.name}-{Path(hydra_cfg.sweep.dir).name}"


def register_resolvers() -> None:
    resolvers = {
        # ${if_set:VALUE,THEN,ELSE}: THEN when VALUE is set (not null/empty), else ELSE —
        # e.g. a GAN monitors val/fid only when a feature checkpoint for FID is given
        "if_set": lambda value, then, otherwise=None: then if value else otherwise,
        "on_rank_zero": on_rank_zero,
        "sweep_name": sweep_name,
        # the slurm launcher's requests, from the trainer (config/slurm_resources.py)
        "slurm_tasks_per_node": tasks_per_node,
        "slurm_gpus_per_node": gpus_per_node,
    }
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
    if not OmegaConf.has_resolver("run_stamp"):  # cached: one name per process
        OmegaConf.register_new_resolver("run_stamp", run_stamp, use_cache=True)
