"""Compose → instantiate → fit → test. `train.py` at the repository root calls `train(cfg)`."""

import logging

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from dlnotes.callbacks.config_in_checkpoint import ConfigInCheckpoint
from dlnotes.callbacks.interrupt_checkpoint import CheckpointOnInterrupt, stopped_by_signal
from dlnotes.callbacks.rng_state import RngStateInCheckpoint
from dlnotes.utils.checkpoint import load_checkpoint
from dlnotes.utils.checkpoint_fit import check_resumable
from dlnotes.utils.config_tree import print_config_tree
from dlnotes.utils.ddp_job import ddp_job
from dlnotes.utils.devices import check_devices
from dlnotes.utils.instantiate import instantiate_callbacks, instantiate_loggers
from dlnotes.utils.job_result import job_info, recorded_job
from dlnotes.utils.model_check import check_model_fits_data
from dlnotes.utils.provenance import provenance
from dlnotes.utils.redact import redact
from dlnotes.utils.resume import checkpoint_dir, log_resume, resume_checkpoint
from dlnotes.utils.resume_command import resume_command
from dlnotes.utils.validate import validate_config
from dlnotes.utils.wandb import WandbRunIdInCheckpoint, finish_wandb, wandb_run_id
from dlnotes.utils.writable import check_output_dirs

log = logging.getLogger(__name__)


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
    model = instantiate(cfg.model)
    check_model_fits_data(model, datamodule.image_shape, datamodule.num_classes, cfg)
    return model


def saved_config(cfg: DictConfig, class_names: list[str] | None = None) -> dict:
    """What a checkpoint needs to rebuild its model and name its outputs: the resolved data and
    model sections, and the class names (null: the label numbers)."""
    resolved = redact(OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False))
    return {"data": resolved["data"], "model": resolved["model"], "class_names": class_names}


def data_class_names(cfg: DictConfig, datamodule) -> list[str] | None:
    """The model config's class names, else the datamodule's (as the tasks name them)."""
    names = cfg.model.get("class_names") or getattr(datamodule, "class_names", None)
    return [str(name) for name in names] if names else None


def train(cfg: DictConfig) -> tuple[float | None, dict]:
    """Train and test; returns the model's monitored metric (for sweeps) and the objects.

    The run directory gets result.json (completed or failed, with the final metrics)."""
    with recorded_job(cfg.paths.output_dir, cfg.model.get("monitor")) as record:
        monitored, objects = _train(cfg)
        record.finished(monitored, objects["metrics"])
    return monitored, objects


def build_trainer(
    cfg: DictConfig, ckpt_path: str | None, class_names: list[str] | None = None
) -> tuple[L.Trainer, list]:
    """The trainer with the config's loggers and callbacks; the loggers get the full config and
    the run's provenance; checkpoints keep the data and model config and the class names."""
    loggers = instantiate_loggers(cfg.get("logger"), wandb_resume_id=wandb_run_id(ckpt_path))
    callbacks = instantiate_callbacks(cfg.get("callbacks"), has_logger=bool(loggers))
    # every checkpoint keeps the config, the random states and the wandb run (to continue it);
    # SIGTERM/SIGINT save one more
    callbacks += [
        ConfigInCheckpoint(saved_config(cfg, class_names)),
        RngStateInCheckpoint(),
        WandbRunIdInCheckpoint(),
        CheckpointOnInterrupt(checkpoint_dir(cfg)),
    ]
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    hyperparameters = redact(OmegaConf.to_container(cfg, resolve=True))
    hyperparameters["overrides"] = job_info().get("overrides", [])
    hyperparameters["provenance"] = provenance()
    for logger in loggers:
        logger.log_hyperparams(hyperparameters)
    return trainer, loggers


def _train(cfg: DictConfig) -> tuple[float | None, dict]:
    validate_config(cfg)
    check_devices(cfg)
    check_output_dirs(cfg)
    ckpt_path = resume_checkpoint(cfg)
    checkpoint = load_checkpoint(ckpt_path) if ckpt_path else None  # refuses pickled code
    L.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    if checkpoint is not None:
        check_resumable(checkpoint, ckpt_path, model, cfg.model, datamodule)
        log_resume(ckpt_path, checkpoint)
        del checkpoint  # Lightning loads it again into the trainer
    print_config_tree(cfg, save_dir=cfg.paths.output_dir)
    trainer, loggers = build_trainer(cfg, ckpt_path, data_class_names(cfg, datamodule))

    failed = True
    try:
        # DDP ranks > 0 run this job, not the command line's sweep
        with ddp_job(trainer), stopped_by_signal(trainer, resume_command(cfg)):
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
            monitored = monitored_value(trainer, cfg.model.monitor)
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
            if cfg.get("test"):
                metrics |= test_best(trainer, model, datamodule)
        failed = False
    finally:
        finish_wandb(loggers, failed=failed)
    if cfg.model.monitor:
        log.info(f"{cfg.model.monitor} = {monitored}")
    log.info(f"outputs in {cfg.paths.output_dir}")
    return monitored, {
        "trainer": trainer,
        "model": model,
        "datamodule": datamodule,
        "metrics": metrics,
    }


def monitored_value(trainer: L.Trainer, monitor: str) -> float | None:
    """The best value of the monitored metric if a checkpoint tracked it, else the last one."""
    checkpoint = trainer.checkpoint_callback
    if checkpoint is not None and checkpoint.best_model_score is not None:
        return float(checkpoint.best_model_score)
    value = trainer.callback_metrics.get(monitor)
    return None if value is None else float(value)


def test_best(trainer: L.Trainer, model, datamodule) -> dict:
    checkpoint = trainer.checkpoint_callback
    best = checkpoint.best_model_path if checkpoint is not None else ""
    if not best:
        log.warning(
            "no best checkpoint (no checkpointing or fast_dev_run): testing current weights"
        )
    results = trainer.test(model, datamodule=datamodule, ckpt_path=best or None, weights_only=True)
    return {k: float(v) for k, v in (results[0] if results else {}).items()}
