"""Shared test helpers: compose configs the way `train.py` does, on tiny settings."""

import os
import urllib.error
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
SHARED_DATA = ROOT.parent / "shared" / "data"
os.environ.setdefault("DLNOTES_ROOT", str(ROOT))
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


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


def pretend_slurm_job(monkeypatch, job_id: str) -> None:
    """The environment SLURM gives a one-task batch job, as Lightning detects it."""
    for key, value in {
        "SLURM_NTASKS": "1",
        "SLURM_JOB_NAME": "dlnotes",
        "SLURM_JOB_ID": job_id,
    }.items():
        monkeypatch.setenv(key, value)


def subprocess_env() -> dict[str, str]:
    """The environment for `python train.py` subprocesses: tests/ importable (probe
    callbacks), wandb offline."""
    return os.environ | {"PYTHONPATH": str(ROOT / "tests"), "WANDB_MODE": "offline"}


@pytest.fixture
def offline(monkeypatch):
    """Every download attempt fails at once, as on a machine without network; counts the tries."""
    attempts = []

    def fail(*args, **kwargs):
        attempts.append(args)
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr("urllib.request.urlopen", fail)
    return attempts


@pytest.fixture
def mnist_dir() -> Path:
    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"real MNIST files absent ({SHARED_DATA}/MNIST/raw)")
    return SHARED_DATA


def write_image_folder(root: Path, classes: int, per_class: int = 4) -> Path:
    """`root/<class>/<i>.png`: 32×32 gray images, a different shade per class."""
    from PIL import Image

    for label in range(classes):
        (root / f"class_{label}").mkdir(parents=True)
        for i in range(per_class):
            shade = 40 * label + i
            Image.new("L", (32, 32), color=shade).save(root / f"class_{label}" / f"{i}.png")
    return root
