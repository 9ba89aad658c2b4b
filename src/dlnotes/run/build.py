"""The parts of a run, built from its config: datamodule, model, loggers, callbacks, trainer.

Datamodule first: it fills `data.num_classes`/`data.image_shape` where the data config leaves
them null, and the model config reads them (`${data.num_classes}`). Every checkpoint the
trainer writes keeps the resolved data and model config (`checkpoint_config`), the random
states and the wandb run.
"""

import logging

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch import Callback
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf, open_dict

from dlnotes.callbacks.config_in_checkpoint import ConfigInCheckpoint
from dlnotes.callbacks.interrupt_checkpoint import CheckpointOnInterrupt
from dlnotes.callbacks.optuna_pruning import OptunaPruning
from dlnotes.callbacks.rng_state import RngStateInCheckpoint
from dlnotes.config.job import job_info, optuna_trial
from dlnotes.config.redact import redact
from dlnotes.errors import ConfigError
from dlnotes.loggers.wandb import WandbRunIdInCheckpoint, WatchModel, wandb_run_id
from dlnotes.run.preflight import check_model_fits_data
from dlnotes.run.provenance import RankNodesInProvenance, provenance
from dlnotes.run.resume import checkpoint_dir

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


def trial_callbacks(cfg: DictConfig) -> list[Callback]:
    """In an Optuna sweep's trial: the callback that reports to the trial and prunes it."""
    trial = optuna_trial()
    if trial is None:
        return []
    return [OptunaPruning(**trial, monitor=cfg.model.monitor, output_dir=cfg.paths.output_dir)]


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    """The datamodule, with `data.num_classes`/`data.image_shape` filled in from it if null."""
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    with open_dict(cfg):
        cfg.data.num_classes = datamodule.num_classes
        cfg.data.image_shape = list(datamodule.image_shape)
    return datamodule


def build_model(cfg: DictConfig, datamodule) -> L.LightningModule:
    """The task with its net, checked against the data before any training starts."""
    model = instantiate(cfg.model)
    check_model_fits_data(model, datamodule.image_shape, datamodule.num_classes, cfg)
    return model


def checkpoint_config(resolved: dict, class_names: list[str] | None = None) -> dict:
    """What a checkpoint needs to rebuild its model and name its outputs: the data and model
    sections of the resolved, redacted config, and the class names (null: the label numbers)."""
    return {"data": resolved["data"], "model": resolved["model"], "class_names": class_names}


def data_class_names(cfg: DictConfig, datamodule) -> list[str] | None:
    """The model config's class names, else the datamodule's (as the tasks name them)."""
    names = cfg.model.get("class_names") or getattr(datamodule, "class_names", None)
    return [str(name) for name in names] if names else None


def build_trainer(
    cfg: DictConfig, ckpt_path: str | None, class_names: list[str] | None = None
) -> tuple[L.Trainer, list]:
    """The trainer with the config's loggers and callbacks; the loggers get the full config and
    the run's provenance; checkpoints keep the data and model config and the class names."""
    resolved = redact(OmegaConf.to_container(cfg, resolve=True))  # secrets never written
    overrides = job_info().get("overrides", [])
    hyperparameters = resolved | {"overrides": overrides, "provenance": provenance()}
    saved, last_dir = checkpoint_config(resolved, class_names), checkpoint_dir(cfg)
    loggers = instantiate_loggers(cfg.get("logger"), wandb_resume_id=wandb_run_id(ckpt_path))
    callbacks = instantiate_callbacks(cfg.get("callbacks"), has_logger=bool(loggers))
    # every checkpoint keeps the config, the random states and the wandb run (to continue it);
    # SIGTERM/SIGINT save one more
    callbacks += [
        ConfigInCheckpoint(saved),
        RngStateInCheckpoint(),
        WandbRunIdInCheckpoint(),
        WatchModel(),  # logger.wandb.watch=gradients|parameters|all
        CheckpointOnInterrupt(last_dir),
        RankNodesInProvenance(cfg.paths.output_dir),  # where each rank ran
        *trial_callbacks(cfg),
    ]
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    for logger in loggers:
        logger.log_hyperparams(hyperparameters)
    return trainer, loggers
