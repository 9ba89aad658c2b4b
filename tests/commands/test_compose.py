"""Every model × dataset config composes and trains one fast_dev_run batch through `train()`.

Datasets whose files cannot be here (CIFAR, SVHN, Fashion-MNIST) get random tensors of their
declared shape in place of the decoded files: what is tested is that the configs fit together.
"""

import pytest
import torch
from PIL import Image

from dlnotes.data.torchvision_sets import TorchvisionDataModule
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides

MODELS = ["nin", "resnet50"]
OFFLINE_SETS = ["fashion_mnist", "cifar10", "cifar100", "svhn"]


def random_splits(self):
    """Stand-in for decoding the files: uint8 images of the dataset's shape, valid labels."""
    generator = torch.Generator().manual_seed(0)

    def part(n):
        images = torch.randint(0, 256, (n, *self.image_shape), generator=generator)
        labels = torch.randint(0, self.num_classes, (n,), generator=generator)
        return images.to(torch.uint8), labels

    return {"train": part(16), "val": part(8), "test": part(8)}


def run_fast_dev(tmp_path, *overrides):
    cfg = compose_config(fast_overrides("debug=fdr", *overrides), tmp_path)
    monitored, objects = train(cfg)
    trainer = objects["trainer"]
    assert trainer.state.finished and trainer.global_step == 1
    assert "test/acc" in objects["metrics"] and "val/acc" in objects["metrics"]
    return cfg, objects


@pytest.mark.parametrize("model", MODELS)
def test_digits(model, tmp_path):
    cfg, objects = run_fast_dev(tmp_path, f"model={model}")
    assert cfg.data.image_shape == [1, 32, 32]
    logits = objects["model"](torch.zeros(2, 1, 32, 32))
    assert logits.shape == (2, 10)


@pytest.mark.parametrize("model", MODELS)
def test_real_mnist(model, tmp_path, mnist_dir):
    cfg, _ = run_fast_dev(tmp_path, f"model={model}", "data=mnist", f"data.data_dir={mnist_dir}")
    assert cfg.data.image_shape == [1, 28, 28]


@pytest.mark.parametrize("dataset", OFFLINE_SETS)
@pytest.mark.parametrize("model", MODELS)
def test_torchvision_sets(model, dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(TorchvisionDataModule, "load_splits", random_splits)
    cfg, objects = run_fast_dev(tmp_path, f"model={model}", f"data={dataset}")
    datamodule = objects["datamodule"]
    assert list(datamodule.image_shape) == list(cfg.data.image_shape)
    assert cfg.model.num_classes == datamodule.num_classes


@pytest.mark.parametrize("model", MODELS)
def test_image_folder(model, tmp_path):
    root = tmp_path / "images"
    for label, name in enumerate(["ant", "bee", "cow"]):
        (root / name).mkdir(parents=True)
        for i in range(10):
            color = (80 * label, 10 * i, 200 - 60 * label)
            Image.new("RGB", (20, 24), color).save(root / name / f"{i}.png")
    overrides = [f"model={model}", "data=image_folder", f"data.root={root}", "data.image_size=32"]
    cfg, objects = run_fast_dev(tmp_path, *overrides)
    assert cfg.data.num_classes == 3  # filled in from the folder tree
    assert cfg.model.net.num_classes == 3 and cfg.data.image_shape == [3, 32, 32]
