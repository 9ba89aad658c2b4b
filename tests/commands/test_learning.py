"""Every task learns: a short run of `train()` (what `python train.py` runs) beats a baseline
measured in the same test, and its twin with learning switched off stays below the same bar,
which proves the bar can fail.

The runs are sized to take seconds on 2 CPU cores. Each bar was set from measured runs with a
margin on both sides; the comment above each case gives what they measured (learning / off).
"""

import csv

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torchmetrics.image.fid import FrechetInceptionDistance

from dlnotes.data.digits import DigitsDataModule
from dlnotes.metrics.miou import MeanIoU
from dlnotes.train import train
from helpers.compose import compose_config, composed_parts, fast_overrides

OFF_LR = 1e-12  # "learning rate 0": the config check refuses 0 itself


@pytest.fixture(params=[True, False], ids=["learning", "switched_off"])
def learning(request) -> bool:
    return request.param


def assert_learned(learning: bool, what: str, value: float, bar: float, higher: bool = True):
    """`value` beats `bar` when learning, and does not when learning is switched off."""
    beats = value > bar if higher else value < bar
    side = ">" if higher else "<"
    print(f"{what}: {value:.4f}, bar {side} {bar:.4f}")  # shown by pytest -rP
    if learning:
        assert beats, f"{what} did not learn: {value:.4f}, the bar is {side} {bar:.4f}"
    else:
        assert not beats, (
            f"{what} reached {value:.4f} {side} {bar:.4f} with learning switched off: "
            "this bar cannot tell learning from none"
        )


def run(overrides: list[str], output_dir) -> tuple[dict[str, float], L.LightningModule]:
    _, objects = train(compose_config(fast_overrides(*overrides), output_dir))
    return objects["metrics"], objects["model"]


# --- classifiers ----------------------------------------------------------------------------

CLASSIFIERS = {
    # test accuracy 0.83 / 0.06 (2 s); the majority class: 0.12
    "nin": ["data.image_size=16", "trainer.max_epochs=1", "+trainer.limit_train_batches=60"],
    # test accuracy 0.86 / 0.11 (13 s)
    "resnet50": [
        "data.batch_size=16",
        "trainer.max_epochs=3",
        "+trainer.limit_train_batches=20",
        "model.optimizer.lr=0.02",
    ],
}


@pytest.fixture
def permuted_training_labels(monkeypatch):
    """The digits' training split with its labels shuffled: nothing left to learn."""
    load_splits = DigitsDataModule.load_splits

    def permuted(self):
        splits = load_splits(self)
        images, labels = splits["train"]
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
        splits["train"] = (images, labels[order])
        return splits

    monkeypatch.setattr(DigitsDataModule, "load_splits", permuted)


@pytest.mark.parametrize("model", CLASSIFIERS)
def test_classifier_beats_the_majority_class(model, learning, request, tmp_path):
    """Off: the training labels permuted (a task training on the wrong labels)."""
    if not learning:
        request.getfixturevalue("permuted_training_labels")
    overrides = [f"model={model}", "trainer.precision=bf16-mixed", *CLASSIFIERS[model]]
    metrics, _ = run(overrides, tmp_path)
    test_labels = DigitsDataModule().split("test")[1]
    majority = torch.bincount(test_labels).max().item() / len(test_labels)
    bar = majority + 0.4
    assert_learned(learning, f"{model} test accuracy", metrics["test/acc"], bar)


# --- VAE ------------------------------------------------------------------------------------


def test_vae_reconstructs_better_than_the_mean_image(learning, tmp_path):
    """recon_ratio: the reconstructions' MSE over the test set's mean image's (the baseline,
    measured on the same images). 0.49 / 2.9 (3 s)."""
    overrides = ["model=vae", "trainer.max_epochs=2", "data.batch_size=32"]
    overrides.append(f"model.optimizer.lr={3e-3 if learning else OFF_LR}")
    metrics, _ = run(overrides, tmp_path)
    assert metrics["test/baseline_mse"] > 0
    assert_learned(
        learning, "VAE reconstruction / mean image", metrics["test/recon_ratio"], 0.7, higher=False
    )


# --- GAN ------------------------------------------------------------------------------------


class Pixels8(torch.nn.Module):
    """The image at the bundled digits' own 8×8 resolution, as 64 features: a Fréchet
    distance that needs no trained network."""

    num_features = 64

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(images.float(), 8).flatten(1).double()


def pixel_frechet_distance(samples: torch.Tensor, real: torch.Tensor) -> float:
    metric = FrechetInceptionDistance(feature=Pixels8(), normalize=True)
    metric.update(real, real=True)
    metric.update(samples, real=False)
    return metric.compute().item()


def test_gan_generator_moves_towards_the_digits(learning, tmp_path):
    """Fréchet distance of 8×8 samples to the test digits, over the untrained generator's
    (the same init, measured here): 0.43 / 1.05 (7 s)."""
    overrides = [
        "model=gan",
        "trainer.max_epochs=2",
        "+trainer.limit_train_batches=40",
        "data.batch_size=32",
        "test=false",
    ]
    if not learning:
        overrides += [f"model.g_optimizer.lr={OFF_LR}", f"model.d_optimizer.lr={OFF_LR}"]
    datamodule, untrained = composed_parts(overrides, tmp_path / "untrained")
    real = datamodule.split("test")[0]

    def distance(model) -> float:
        return pixel_frechet_distance(
            model.sample(len(real), torch.Generator().manual_seed(1)), real
        )

    before = distance(untrained)
    _, trained = run(overrides, tmp_path / "run")
    assert_learned(
        learning, "GAN sample distance / untrained", distance(trained) / before, 0.7, higher=False
    )


# --- segmentation ---------------------------------------------------------------------------


def test_segmenter_beats_background_everywhere(learning, tmp_path):
    """mIoU against predicting background at every pixel, on the same test scenes (0.08):
    0.33 / 0.02 (4 s)."""
    overrides = [
        "model=segmenter",
        "data=digit_scenes",
        "data.train_size=256",
        "data.val_size=32",
        "data.test_size=32",
        "trainer.max_epochs=2",
        "trainer.precision=bf16-mixed",
    ]
    if not learning:
        overrides.append(f"model.optimizer.lr={OFF_LR}")
    metrics, model = run(overrides, tmp_path)
    masks = model.trainer.datamodule.split("test")[1]
    background = MeanIoU(model.num_classes, model.ignore_index)
    background.update(torch.zeros_like(masks), masks)
    bar = background.compute()["miou"].item() + 0.1
    assert_learned(learning, "segmenter test mIoU", metrics["test/miou"], bar)


# --- detection ------------------------------------------------------------------------------

SCENES = [
    "data=digit_scenes_detection",
    "data.train_size=128",
    "data.val_size=32",
    "data.test_size=32",
]
# test mAP@0.5, learning / off, with the untrained detector's (the bar is 0.08 above it):
# R-CNN 0.36 / 0.09, untrained 0.12 (10 s); Fast R-CNN 0.32 / 0.12, untrained 0.11 (14 s;
# 4 epochs gave only 0.23–0.24: its classifier first learns to call everything background)
DETECTOR_EPOCHS = {"rcnn": 4, "fast_rcnn": 6}


@pytest.fixture(scope="module")
def proposal_dir(tmp_path_factory) -> str:
    """Selective search's proposals for the scenes, searched once for every detector run here
    (they depend on the image and the search settings only: `ProposalCache`)."""
    return str(tmp_path_factory.mktemp("proposals"))


@pytest.mark.parametrize("model", DETECTOR_EPOCHS)
def test_detector_beats_its_untrained_self(model, learning, proposal_dir, tmp_path):
    """mAP@0.5 on the test scenes over the untrained detector's (same init, measured here)."""
    overrides = [f"model={model}", *SCENES, f"trainer.max_epochs={DETECTOR_EPOCHS[model]}"]
    overrides.append(f"+model.net.proposals.directory={proposal_dir}")
    if not learning:
        overrides.append(f"model.optimizer.lr={OFF_LR}")
    datamodule, untrained = composed_parts(overrides, tmp_path / "untrained")
    tester = L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path / "untrained",
    )
    before = tester.test(untrained, datamodule=datamodule, verbose=False)[0]["test/map50"]
    metrics, _ = run(overrides, tmp_path / "run")
    assert_learned(learning, f"{model} test mAP@0.5", metrics["test/map50"], before + 0.08)


def test_faster_rcnn_training_loss_falls(learning, tmp_path):
    """mAP needs minutes here: the training loss of the last 4 steps over the first 4's
    instead. 0.35 / 1.00 (9 s)."""
    overrides = [
        "model=faster_rcnn",
        *SCENES[:2],
        "data.batch_size=4",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=16",
        "+trainer.limit_val_batches=0",
        "test=false",
        "logger=csv",
        "trainer.log_every_n_steps=1",
    ]
    if not learning:
        overrides.append(f"model.optimizer.lr={OFF_LR}")
    run(overrides, tmp_path)
    with open(tmp_path / "metrics.csv") as file:
        losses = [
            float(row["train/loss_step"])
            for row in csv.DictReader(file)
            if row.get("train/loss_step")
        ]
    assert len(losses) == 16
    ratio = sum(losses[-4:]) / sum(losses[:4])
    assert_learned(
        learning, "Faster R-CNN training loss, last / first steps", ratio, 0.5, higher=False
    )
