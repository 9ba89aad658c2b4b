"""`ckpt_path=last` or `ckpt_path=<file>`: the checkpoint a run continues from.

`last` means this run directory's checkpoints/last.ckpt, so resuming a crashed run is its
command again with `hydra.run.dir=<its directory> ckpt_path=last`. Lightning then restores
weights, optimizers, schedulers, epoch and step; `RngStateInCheckpoint` the random states.
"""

import logging
import os
import shlex
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlnotes.checkpoints.fit import check_resumable
from dlnotes.checkpoints.load import load_checkpoint
from dlnotes.config.job import job_info
from dlnotes.errors import ConfigError

log = logging.getLogger(__name__)


def checkpoint_dir(cfg: DictConfig) -> Path:
    """Where last.ckpt is written: `callbacks.last_checkpoint.dirpath`, else checkpoints/."""
    for key in ("callbacks.last_checkpoint.dirpath", "callbacks.model_checkpoint.dirpath"):
        dirpath = OmegaConf.select(cfg, key, default=None)
        if dirpath:
            return Path(dirpath)
    return Path(cfg.paths.output_dir) / "checkpoints"


def latest_resumable_run(cfg: DictConfig) -> Path | None:
    """The most recent other run directory of this task that has a checkpoints/last.ckpt."""
    task_dir = Path(cfg.paths.log_dir) / cfg.task_name
    here = Path(cfg.paths.output_dir).resolve()
    runs = [p.parent.parent for p in task_dir.glob("**/checkpoints/last.ckpt")]
    runs = [run for run in runs if run.resolve() != here]
    return max(
        runs, key=lambda run: (run / "checkpoints" / "last.ckpt").stat().st_mtime, default=None
    )


def restarted_by_launcher() -> bool:
    """torchrun and SLURM may start the same command again: then `last` may not exist yet."""
    return os.environ.get("TORCHELASTIC_RUN_ID", "none") != "none" or "SLURM_JOB_ID" in os.environ


def resume_checkpoint(cfg: DictConfig) -> str | None:
    """The checkpoint file to continue from, or None to start from scratch."""
    ckpt_path = cfg.get("ckpt_path")
    if not ckpt_path:
        return None
    if ckpt_path == "last":
        path = checkpoint_dir(cfg) / "last.ckpt"
        if path.is_file():
            return str(path)
        if restarted_by_launcher():
            log.info(f"ckpt_path=last: no {path} yet, starting from scratch")
            return None
        latest = latest_resumable_run(cfg)
        hint = f" (the latest run with one: hydra.run.dir={latest})" if latest else ""
        raise ConfigError(
            f"ckpt_path=last: this run directory has no checkpoints/last.ckpt; to resume a run, "
            f"add hydra.run.dir=<that run's directory>{hint}"
        )
    path = Path(ckpt_path)
    if not path.is_file():
        raise ConfigError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    return str(path)


def resume_point(cfg: DictConfig) -> tuple[str | None, dict | None]:
    """(the checkpoint file to continue from, its content), or (None, None); loaded before
    anything is built, so that a checkpoint holding pickled code is refused at once."""
    ckpt_path = resume_checkpoint(cfg)
    return ckpt_path, load_checkpoint(ckpt_path) if ckpt_path else None


def check_resume(ckpt_path, checkpoint: dict | None, model, cfg: DictConfig, datamodule) -> None:
    """A checkpoint to continue from must fit this run's model and data; say where it was."""
    if checkpoint is None:
        return
    check_resumable(checkpoint, ckpt_path, model, cfg.model, datamodule)
    log_resume(ckpt_path, checkpoint)


def log_resume(ckpt_path: str, checkpoint: dict) -> None:
    """Say which checkpoint the run continues from, and where in training that is."""
    epoch, step = checkpoint.get("epoch"), checkpoint.get("global_step")
    log.info(f"resuming from {ckpt_path} (saved at epoch {epoch}, step {step})")


def resume_command(cfg: DictConfig, script: str = "train.py") -> str:
    """`python train.py <the same overrides> hydra.run.dir=<this run's dir> ckpt_path=last`."""
    overrides = [
        override
        for override in job_info().get("overrides", [])
        if override.split("=", 1)[0].lstrip("+~") != "ckpt_path"
    ]
    run_dir = f"hydra.run.dir={cfg.paths.output_dir}"
    return shlex.join(["python", script, *overrides, run_dir, "ckpt_path=last"])
