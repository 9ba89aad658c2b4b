"""Test a trained checkpoint. `eval.py` at the repository root calls `evaluate(cfg)`.

The checkpoint carries its own data and model config; a `data=`/`model=` given on the command
line replaces the saved one (e.g. to test on another dataset with the same classes).
"""

import logging

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from dlnotes.checkpoints.fit import check_same_task, load_weights, model_name
from dlnotes.checkpoints.load import load_checkpoint, saved_config
from dlnotes.config.redact import redact
from dlnotes.config.tree import print_config_tree
from dlnotes.loggers.wandb import finish_wandb
from dlnotes.run.build import (
    build_datamodule,
    build_model,
    instantiate_callbacks,
    instantiate_loggers,
)
from dlnotes.run.preflight import check_devices
from dlnotes.run.provenance import provenance

log = logging.getLogger(__name__)


def command_line_groups() -> set[str]:
    """Top-level sections the user set on the command line (`data=...`, `model.net.x=...`)."""
    if not HydraConfig.initialized():
        return set()
    overrides = HydraConfig.get().overrides.task
    return {o.split("=", 1)[0].lstrip("+~").split(".", 1)[0] for o in overrides}


def use_saved_config(cfg: DictConfig, saved: dict, chosen: set[str]) -> None:
    with open_dict(cfg):
        for section in ("data", "model"):
            if section not in chosen:
                cfg[section] = OmegaConf.create(saved[section])


def evaluate(cfg: DictConfig, chosen_groups: set[str] | None = None) -> dict:
    """Test `cfg.ckpt_path`; `chosen_groups` (default: from the command line) keep their config."""
    check_devices(cfg)
    checkpoint = load_checkpoint(cfg.ckpt_path)
    saved = saved_config(checkpoint, cfg.ckpt_path)
    chosen = command_line_groups() if chosen_groups is None else chosen_groups
    use_saved_config(cfg, saved, chosen)
    L.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg)
    check_same_task(saved, datamodule, cfg.ckpt_path, hint="evaluate on data of the same kind")
    model = build_model(cfg, datamodule)
    load_weights(model, checkpoint, cfg.ckpt_path, model_name(cfg.model))
    print_config_tree(cfg, save_dir=cfg.paths.output_dir)

    loggers = instantiate_loggers(cfg.get("logger"))
    callbacks = instantiate_callbacks(cfg.get("callbacks"), has_logger=bool(loggers))
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    hyperparameters = redact(OmegaConf.to_container(cfg, resolve=True))
    for logger in loggers:  # the config it ran with, and what produced it
        logger.log_hyperparams(hyperparameters | {"provenance": provenance()})
    try:
        results = trainer.test(model, datamodule=datamodule)
    finally:
        finish_wandb(loggers)
    return {k: float(v) for k, v in (results[0] if results else {}).items()}
