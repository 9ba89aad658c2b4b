"""Lightning's tuners before a run trains (`tune=lr_find` or `tune=batch_size`).

lr_find: the learning-rate range test (Lightning's `Tuner.lr_find`): a short run whose rate
grows exponentially from `min_lr` to `max_lr`, the loss recorded at each; the suggestion is
where the loss falls fastest. The curve is saved as lr_find.png in the run directory (and
logged to wandb with logger=wandb). batch_size: the largest batch that fits
(`Tuner.scale_batch_size`, doubling until out of memory). With `tune.apply=true` the run then
trains with what was found; else it only reports it.

Both run on a trainer of their own (one device, no logger, no checkpoints), so the run's
callbacks, checkpoints and logs see only the training that follows.
"""

import functools
import logging
from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.tuner import Tuner
from omegaconf import DictConfig

from dlnotes.errors import ConfigError

log = logging.getLogger(__name__)
MODES = ("lr_find", "batch_size")
LR_FIND_PNG = "lr_find.png"


def tune(cfg: DictConfig, model: L.LightningModule, datamodule) -> dict | None:
    """Run the configured tuner; returns what it found ({"lr": ...} or {"batch_size": ...}),
    applied to the model or data when `tune.apply`."""
    settings = cfg.get("tune")
    if not settings:
        return None
    check_tunable(settings.mode, model)
    tuner = Tuner(tuning_trainer(cfg))
    if settings.mode == "lr_find":
        found = find_lr(tuner, settings, model, datamodule, Path(cfg.paths.output_dir))
        if settings.apply:
            model.optimizer = with_lr(model.optimizer, found["lr"])
    else:
        found = find_batch_size(tuner, settings, model, datamodule)
        if not settings.apply:
            datamodule.batch_size = cfg.data.batch_size  # the finder leaves its own in place
    verb = "training with it" if settings.apply else "not applied (tune.apply=true applies it)"
    log.info(f"tune={settings.mode}: {found}, {verb}")
    return found


def check_tunable(mode: str, model: L.LightningModule) -> None:
    if mode not in MODES:
        raise ConfigError(f"tune.mode={mode}: choose tune=lr_find or tune=batch_size")
    if not model.automatic_optimization:
        raise ConfigError(
            f"tune={mode}: this model steps its optimizers itself (a GAN's two, manual "
            "optimization), and Lightning's tuners need one optimizer the trainer steps; "
            "sweep the rates instead (python train.py -m model.g_optimizer.lr=...)"
        )


def tuning_trainer(cfg: DictConfig) -> L.Trainer:
    """One device of the run's accelerator, its precision, nothing written."""
    return L.Trainer(
        accelerator=cfg.trainer.get("accelerator", "auto"),
        devices=1,
        precision=cfg.trainer.get("precision", "32-true"),
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=cfg.paths.output_dir,
    )


def find_lr(tuner: Tuner, settings, model, datamodule, out: Path) -> dict:
    result = tuner.lr_find(
        model,
        datamodule=datamodule,
        min_lr=settings.min_lr,
        max_lr=settings.max_lr,
        num_training=settings.num_training,
        update_attr=False,
    )
    suggestion = result.suggestion()
    if suggestion is None:
        raise ConfigError(
            "tune=lr_find found no rate where the loss falls (too few steps, or a loss that "
            "never moved): raise tune.num_training or widen tune.min_lr/tune.max_lr"
        )
    figure = result.plot(suggest=True)
    figure.savefig(out / LR_FIND_PNG, dpi=120)
    import matplotlib.pyplot as plt  # here: the run's start-up does not pay for it

    plt.close(figure)  # a sweep's jobs share the process: no figure left open
    return {"lr": float(suggestion)}


def log_tuning(loggers: list, found: dict | None, out: Path) -> None:
    """What the tuner found, and the lr_find curve, to the run's wandb logger (the tuning
    trainer has none; the run's loggers exist only once it is built)."""
    if not found:
        return
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.log_hyperparams({"tune": found})
            if (out / LR_FIND_PNG).is_file():
                logger.log_image(key="tune/lr_find", images=[str(out / LR_FIND_PNG)])


def find_batch_size(tuner: Tuner, settings, model, datamodule) -> dict:
    size = tuner.scale_batch_size(
        model,
        datamodule=datamodule,
        mode=settings.scale,
        max_trials=settings.max_trials,
        init_val=settings.init_val,
    )
    return {"batch_size": int(size)}


def with_lr(optimizer: functools.partial, lr: float) -> functools.partial:
    """The model's optimizer (a partial, as the config builds it) at rate `lr`."""
    return functools.partial(optimizer.func, *optimizer.args, **{**optimizer.keywords, "lr": lr})
