"""A training run, stage by stage. `train.py` at the repository root calls `train(cfg)`.

preflight → resume point → data and model → (tuners) → trainer → fit and test → result.json.
Each stage is one call into `run/`, the folder that owns it.
"""

import logging
from pathlib import Path

import lightning as L
from omegaconf import DictConfig

from dlnotes.config.tree import print_config_tree
from dlnotes.run.build import build_datamodule, build_model, build_trainer, data_class_names
from dlnotes.run.fit import fit_and_test
from dlnotes.run.preflight import preflight
from dlnotes.run.result import recorded_job
from dlnotes.run.resume import check_resume, resume_point
from dlnotes.run.tune import log_tuning, tune

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> tuple[float | None, dict]:
    """Train and test; returns the model's monitored metric (for sweeps) and the objects.

    The run directory gets result.json (completed or failed, with the final metrics)."""
    with recorded_job(cfg.paths.output_dir, cfg.model.get("monitor")) as record:
        monitored, objects = _train(cfg)
        parameters = sum(p.numel() for p in objects["model"].parameters())
        record.finished(monitored, objects["metrics"], parameters)
    return monitored, objects


def _train(cfg: DictConfig) -> tuple[float | None, dict]:
    preflight(cfg)
    ckpt_path, checkpoint = resume_point(cfg)  # a checkpoint of pickled code is refused here
    L.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    check_resume(ckpt_path, checkpoint, model, cfg, datamodule)
    tuned = tune(cfg, model, datamodule)  # tune=lr_find|batch_size: Lightning's tuners
    del checkpoint  # Lightning loads it again into the trainer
    print_config_tree(cfg, save_dir=cfg.paths.output_dir)
    trainer, loggers = build_trainer(cfg, ckpt_path, data_class_names(cfg, datamodule))
    log_tuning(loggers, tuned, Path(cfg.paths.output_dir))
    monitored, metrics = fit_and_test(cfg, trainer, model, datamodule, ckpt_path, loggers)
    if cfg.model.monitor:
        log.info(f"{cfg.model.monitor} = {monitored}")
    log.info(f"outputs in {cfg.paths.output_dir}")
    return monitored, {
        "trainer": trainer,
        "model": model,
        "datamodule": datamodule,
        "metrics": metrics,
    }
