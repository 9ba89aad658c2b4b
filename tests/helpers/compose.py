"""Compose configs the way `train.py` does, on tiny settings."""

from pathlib import Path

import lightning as L
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from helpers.paths import CONF


def compose_config(
    overrides: list[str], output_dir: Path, config_name: str = "train"
) -> DictConfig:
    """The config `python train.py OVERRIDES` would run, writing into `output_dir`."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def fast_overrides(*extra: str) -> list[str]:
    """One CPU, no progress bar, tiny batches: what most tests want."""
    return [
        "trainer=cpu",
        "logger=none",
        "callbacks.progress_bar=null",
        "callbacks.model_summary=null",
        "data.batch_size=8",
        *extra,
    ]


def composed_parts(overrides: list[str], output_dir: Path):
    """The datamodule and the model of `python train.py OVERRIDES` (with `fast_overrides`),
    built as `train()` builds them: same seed, same initial weights."""
    cfg = compose_config(fast_overrides(*overrides), output_dir)
    L.seed_everything(cfg.seed)
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    with open_dict(cfg):
        cfg.data.num_classes = datamodule.num_classes
        cfg.data.image_shape = list(datamodule.image_shape)
    return datamodule, instantiate(cfg.model)


def short_run(train_batches: int) -> list[str]:
    """Two epochs of `train_batches` steps with one validation batch, no test, quiet: runs
    that a test interrupts, kills or resumes."""
    return [
        *fast_overrides(),
        "trainer.max_epochs=2",
        f"+trainer.limit_train_batches={train_batches}",
        "+trainer.limit_val_batches=1",
        "test=false",
    ]


SCENES_32 = [  # digit scenes small enough for a one-step run
    "data.image_size=32",
    "data.min_digit_size=8",
    "data.max_digit_size=12",
    "data.train_size=8",
    "data.val_size=4",
    "data.test_size=4",
]
TINY_TRAININGS = {  # the README's training commands, on tiny images
    "classifier": ["model=nin", "data.image_size=16"],
    "segmenter": ["model=segmenter", "data=digit_scenes", *SCENES_32],
    "detector": ["model=fast_rcnn", "data=digit_scenes_detection", *SCENES_32],
    "vae": ["model=vae", "data.image_size=16"],
}
