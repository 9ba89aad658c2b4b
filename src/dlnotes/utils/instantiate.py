"""Callbacks and loggers from their config groups (each entry a `_target_` config)."""

import logging

from hydra.utils import instantiate
from lightning.pytorch import Callback
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def _entries(group: DictConfig | None):
    for name, entry in (group or {}).items():
        if isinstance(entry, DictConfig) and "_target_" in entry:
            yield name, entry


def instantiate_loggers(group: DictConfig | None) -> list[Logger]:
    return [instantiate(entry) for _, entry in _entries(group)]


def instantiate_callbacks(group: DictConfig | None, has_logger: bool) -> list[Callback]:
    callbacks = []
    for name, entry in _entries(group):
        callback = instantiate(entry)
        if isinstance(callback, LearningRateMonitor) and not has_logger:
            log.info(f"callbacks.{name}: skipped, there is no logger to write learning rates to")
            continue
        callbacks.append(callback)
    return callbacks
