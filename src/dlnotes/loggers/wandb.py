"""wandb without surprises: offline when no credentials are found, with the sync command.

Each job of a sweep is its own run (closed before the next job starts), grouped under the
sweep's name, tagged with its command-line overrides. The run id is kept in each checkpoint,
so a resumed training continues the same wandb run.
"""

import logging
import os

import torch
from lightning.pytorch import Callback
from lightning.pytorch.loggers import WandbLogger

from dlnotes.config.job import job_info
from dlnotes.errors import ConfigError
from dlnotes.loggers.wandb_dashboard import DashboardWandbLogger

log = logging.getLogger(__name__)

CHECKPOINT_KEY = "dlnotes_wandb_run_id"
MAX_TAG_LENGTH = 64  # wandb's limit


def has_wandb_credentials() -> bool:
    """An API key in the environment or in the netrc file that `wandb login` writes."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    if os.environ.get("WANDB_MODE") in ("offline", "disabled"):
        return False
    import netrc

    try:
        hosts = netrc.netrc(os.environ.get("NETRC")).hosts
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False
    return any("wandb" in host for host in hosts)


def override_tags() -> list[str]:
    """The run's command-line overrides, e.g. `model.optimizer.lr=0.001`, as wandb tags."""
    return [override[:MAX_TAG_LENGTH] for override in job_info().get("overrides", [])]


WATCH = ("gradients", "parameters", "all")


def wandb_logger(
    offline: bool | None = None,
    tags=(),
    resume_id: str | None = None,
    watch: str | None = None,
    watch_log_freq: int = 100,
    **kwargs,
) -> DashboardWandbLogger:
    """A `WandbLogger` that sets up the dashboard (`DashboardWandbLogger`); `offline=None`
    decides from the credentials; `resume_id` continues that run (set by `train.py` from the
    checkpoint it resumes); `watch` has wandb record the model's gradients, parameters or both
    every `watch_log_freq` steps (`wandb.watch`, started by `WatchModel` when fit starts)."""
    if watch not in (None, *WATCH):
        raise ConfigError(
            f"logger.wandb.watch={watch}: choose one of {', '.join(WATCH)} (or null: off)"
        )
    if offline is None:
        offline = not has_wandb_credentials()
        if offline:
            log.info("wandb: no API key found, logging offline (see the sync command at the end)")
    if resume_id:
        kwargs |= {"id": resume_id, "resume": "allow"}
        log.info(f"wandb: continuing run {resume_id}")
    os.makedirs(kwargs.get("save_dir") or ".", exist_ok=True)
    tags = list(dict.fromkeys([*(tags or []), *override_tags()]))
    logger = DashboardWandbLogger(offline=offline, tags=tags, **kwargs)
    logger.watch_settings = {"log": watch, "log_freq": watch_log_freq} if watch else None
    return logger


def wandb_run_id(ckpt_path: str | None) -> str | None:
    """The wandb run id a checkpoint was written under (None: none recorded)."""
    if not ckpt_path:
        return None
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    return checkpoint.get(CHECKPOINT_KEY)


class WatchModel(Callback):
    """When fit starts, `wandb.watch` the model for each wandb logger that asks for it."""

    def on_fit_start(self, trainer, pl_module) -> None:
        for logger in trainer.loggers:
            settings = getattr(logger, "watch_settings", None)
            if settings:
                logger.watch(pl_module, **settings)


class WandbRunIdInCheckpoint(Callback):
    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                checkpoint[CHECKPOINT_KEY] = logger.version


def finish_wandb(loggers: list, failed: bool = False) -> None:
    """Close the run (so the next job of a sweep starts its own) and say how to upload it."""
    for logger in loggers:
        if not isinstance(logger, WandbLogger):
            continue
        import wandb

        run = wandb.run
        if run is not None and run.settings._offline:
            log.info(
                f"wandb: offline run saved; upload it with: wandb sync {run.dir.rsplit('/', 1)[0]}"
            )
        wandb.finish(exit_code=1 if failed else 0)
