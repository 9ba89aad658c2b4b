"""Fit, then test the best checkpoint: the part of a run where the trainer works.

Inside a DDP job of its own (ranks > 0 run this job, not the command line's sweep), with
SIGTERM/Ctrl-C turned into one line that says how to resume, and the wandb run closed however
the fit ends.
"""

import logging

import lightning as L
from omegaconf import DictConfig

from dlnotes.callbacks.interrupt_checkpoint import stopped_by_signal
from dlnotes.loggers.wandb import finish_wandb
from dlnotes.run.ddp_job import ddp_job
from dlnotes.run.resume import resume_command

log = logging.getLogger(__name__)


def fit_and_test(
    cfg: DictConfig, trainer: L.Trainer, model, datamodule, ckpt_path: str | None, loggers: list
) -> tuple[float | None, dict[str, float]]:
    """(the monitored metric's best value, the final metrics: fit's, then the test's)."""
    continue_with = resume_command(cfg)  # what SIGTERM/Ctrl-C prints
    failed = True
    try:
        with ddp_job(trainer), stopped_by_signal(trainer, continue_with):
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
            monitored = monitored_value(trainer, cfg.model.monitor)
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
            if cfg.get("test"):
                metrics |= test_best(trainer, model, datamodule)
        failed = False
    finally:
        finish_wandb(loggers, failed=failed)
    return monitored, metrics


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
