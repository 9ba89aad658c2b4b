"""Callbacks and loggers from their config groups (each entry a `_target_` config)."""

import logging

from hydra.utils import instantiate
from lightning.pytorch import Callback
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig

from dlnotes.utils.errors import ConfigError

log = logging.getLogger(__name__)


def _entries(group: DictConfig | None):
    for name, entry in (group or {}).items():
        if isinstance(entry, DictConfig) and "_target_" in entry:
            yield name, entry


def instantiate_loggers(
    group: DictConfig | None, wandb_resume_id: str | None = None
) -> list[Logger]:
    """The loggers; a wandb one continues run `wandb_resume_id` when given."""
    loggers = []
    for _, entry in _entries(group):
        is_wandb = entry._target_.endswith("wandb_logger")
        extra = {"resume_id": wandb_resume_id} if is_wandb and wandb_resume_id else {}
        loggers.append(instantiate(entry, **extra))
    return loggers


def instantiate_callbacks(group: DictConfig | None, has_logger: bool) -> list[Callback]:
    callbacks = []
    for name, entry in _entries(group):
        if entry._target_.endswith("EarlyStopping") and entry.get("monitor") is None:
            raise ConfigError(
                f"callbacks.{name} needs a metric to follow, and this model monitors none "
                "(a GAN monitors val/fid once model.fid_features is set)"
            )
        callback = instantiate(entry)
        if isinstance(callback, LearningRateMonitor) and not has_logger:
            log.info(f"callbacks.{name}: skipped, there is no logger to write learning rates to")
            continue
        callbacks.append(callback)
    return callbacks
