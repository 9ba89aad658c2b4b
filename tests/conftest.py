"""Shared test helpers: compose configs the way `train.py` does, on tiny settings; a tiny
MNIST in torchvision's raw format; and, under CI=true, a skipped test counts as a failure
(only tests marked `gpu` may skip there)."""

import os
import struct
import urllib.error
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from lightning.pytorch import Callback
from omegaconf import DictConfig, open_dict

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
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


class StepOutputs(Callback):
    """Keeps what each training step returned (its loss) and the batch it was given."""

    def __init__(self):
        self.outputs, self.batches = [], []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.outputs.append(outputs)
        self.batches.append(batch)


def one_training_step(model, datamodule, output_dir: Path) -> tuple[dict, StepOutputs]:
    """One real training step (and one validation batch) through a Lightning Trainer: what the
    step logged, and what it returned and was given (`.outputs`, `.batches`)."""
    outputs = StepOutputs()
    trainer = L.Trainer(
        fast_dev_run=1,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[outputs],
        default_root_dir=output_dir,
    )
    trainer.fit(model, datamodule=datamodule)
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    return logged, outputs


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
    callbacks), wandb offline, and a wandb service of their own: an in-process run before
    leaves WANDB_SERVICE set, and a killed child's run would stay open in that service."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    return env | {"PYTHONPATH": str(ROOT / "tests"), "WANDB_MODE": "offline"}


@pytest.fixture
def offline(monkeypatch):
    """Every download attempt fails at once, as on a machine without network; counts the tries."""
    attempts = []

    def fail(*args, **kwargs):
        attempts.append(args)
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr("urllib.request.urlopen", fail)
    return attempts


TINY_MNIST_SIZES = {"train": 500, "t10k": 150}


def write_tiny_mnist(root: Path) -> Path:
    """`root/MNIST/raw/`: the bundled handwritten digits at 28×28 in MNIST's IDX files (500
    train, 150 test), which `torchvision.datasets.MNIST(root, download=False)` reads as MNIST."""
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(digits.images).float().div(16).unsqueeze(1)
    images = F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)
    images = images.squeeze(1).clamp(0, 1).mul(255).round().to(torch.uint8)
    labels = torch.from_numpy(digits.target).to(torch.uint8)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    start = 0
    for name, n in TINY_MNIST_SIZES.items():
        part, part_labels = images[start : start + n], labels[start : start + n]
        start += n
        # IDX: magic (0, 0, type 0x08 = uint8, number of dimensions), then each size, big-endian
        header = struct.pack(">HBBIII", 0, 8, 3, n, 28, 28)
        (raw / f"{name}-images-idx3-ubyte").write_bytes(header + part.numpy().tobytes())
        label_header = struct.pack(">HBBI", 0, 8, 1, n)
        (raw / f"{name}-labels-idx1-ubyte").write_bytes(
            label_header + part_labels.numpy().tobytes()
        )
    return root


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """A data_dir holding a tiny MNIST in torchvision's raw layout (written here: no skips)."""
    return write_tiny_mnist(tmp_path_factory.mktemp("data"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip is a failure, except for tests marked `gpu`: in CI every
    non-GPU test must run."""
    outcome = yield
    report = outcome.get_result()
    skipped_in_ci = report.skipped and os.environ.get("CI", "").lower() == "true"
    if skipped_in_ci and "gpu" not in item.keywords and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (only `gpu` tests may skip): {reason}"


def write_image_folder(root: Path, classes: int, per_class: int = 4) -> Path:
    """`root/<class>/<i>.png`: 32×32 gray images, a different shade per class."""
    from PIL import Image

    for label in range(classes):
        (root / f"class_{label}").mkdir(parents=True)
        for i in range(per_class):
            shade = 40 * label + i
            Image.new("L", (32, 32), color=shade).save(root / f"class_{label}" / f"{i}.png")
    return root


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


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory):
    """`trained_checkpoint(kind)`: the last.ckpt that `train.py` writes after one training step
    of a `TINY_TRAININGS` kind; each kind is trained once a session."""
    from dlnotes.train import train

    made: dict[str, Path] = {}

    def checkpoint(kind: str) -> Path:
        if kind not in made:
            out = tmp_path_factory.mktemp(kind)
            one_step = ["trainer.max_epochs=1", "+trainer.limit_train_batches=1", "test=false"]
            overrides = [*one_step, "+trainer.limit_val_batches=0", *TINY_TRAININGS[kind]]
            overrides = [o for o in fast_overrides(*overrides) if "batch_size" not in o]
            train(compose_config([*overrides, "data.batch_size=2"], out))
            made[kind] = out / "checkpoints" / "last.ckpt"
        return made[kind]

    return checkpoint
