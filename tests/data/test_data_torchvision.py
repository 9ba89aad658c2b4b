"""The torchvision datamodules: MNIST from files in torchvision's raw layout (a tiny one written
by the tests), the missing/corrupt file errors and the batch augmentation. Nothing here
downloads: the network is replaced by one that fails."""

import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from dlnotes.data.augment import random_crop, random_hflip
from dlnotes.data.torchvision_sets import (
    CIFAR10DataModule,
    CIFAR100DataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
    SVHNDataModule,
)
from dlnotes.errors import ConfigError
from helpers.data import TINY_MNIST_SIZES
from helpers.paths import ROOT

CONFIGS = {
    "mnist": MNISTDataModule,
    "fashion_mnist": FashionMNISTDataModule,
    "cifar10": CIFAR10DataModule,
    "cifar100": CIFAR100DataModule,
    "svhn": SVHNDataModule,
}
ALL = list(CONFIGS.values())


def data_config(name: str, **overrides):
    """conf/data/<name>.yaml as train.py would see it, with `paths` and `seed` filled in."""
    root = OmegaConf.create({"paths": {"data_dir": "/nowhere/data"}, "seed": 0})
    root.data = OmegaConf.load(ROOT / f"conf/data/{name}.yaml")
    root.data.update(overrides)
    return root.data


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    module = MNISTDataModule(data_dir=str(mnist_dir), download=False, val_fraction=0.1)
    module.prepare_data()
    module.setup("fit")
    return module


def test_mnist_splits_and_storage(mnist):
    sizes = {name: len(labels) for name, (_, labels) in mnist.splits.items()}
    train, test = TINY_MNIST_SIZES["train"], TINY_MNIST_SIZES["t10k"]
    assert sizes == {"train": train - train // 10, "val": train // 10, "test": test}
    images, labels = mnist.split("train")
    assert images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert mnist.image_shape == (1, 28, 28) == tuple(images.shape[1:])
    assert mnist.num_classes == 10 and set(labels.tolist()) == set(range(10))


def test_mnist_batch_is_float_in_unit_range(mnist):
    images, labels = mnist.on_after_batch_transfer(next(iter(mnist.train_dataloader())), 0)
    assert images.shape == (128, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1 and images.max() > 0.9
    assert labels.shape == (128,)


def test_split_depends_only_on_split_seed(mnist_dir):
    def val_labels(split_seed: int, seed: int) -> torch.Tensor:
        module = MNISTDataModule(str(mnist_dir), download=False, split_seed=split_seed, seed=seed)
        return module.split("val")[1]

    assert torch.equal(val_labels(0, seed=0), val_labels(0, seed=1))
    assert not torch.equal(val_labels(0, seed=0), val_labels(1, seed=0))


def test_mnist_config_with_relative_data_dir(monkeypatch, mnist_dir):
    monkeypatch.chdir(mnist_dir.parent)  # as `data=mnist data.data_dir=data` from a folder
    module = instantiate(data_config("mnist", data_dir=mnist_dir.name))
    monkeypatch.chdir("/")  # the path was resolved when the module was made
    module.setup()
    assert len(module.split("test")[1]) == TINY_MNIST_SIZES["t10k"]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_declares_what_the_module_gives(name):
    module = instantiate(data_config(name))
    assert type(module) is CONFIGS[name]
    module.check_declared()
    assert module.data_dir == Path("/nowhere/data")
    assert module.augment == name.startswith("cifar")


@pytest.mark.parametrize("download", [False, True], ids=["no-download", "download-offline"])
@pytest.mark.parametrize("module_class", ALL, ids=lambda cls: cls.spec.title)
def test_missing_files_give_one_line_error(tmp_path, offline, module_class, download):
    module = module_class(data_dir=str(tmp_path), download=download)
    start = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        module.prepare_data()
    assert time.monotonic() - start < 30
    message = str(caught.value)
    assert "\n" not in message
    assert str(module.folder) in message and str(module.folder).startswith(str(tmp_path))
    first_file = module.spec.expected_files.split(",")[0].split(" ")[0].replace("(.gz)", "")
    assert first_file in message and "data.download=true" in message
    assert bool(offline) == download  # no download tried unless allowed
    assert ("download failed" in message) == download


@pytest.mark.parametrize("broken", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
def test_corrupted_mnist_file_gives_one_line_error(tmp_path, offline, broken, mnist_dir):
    raw = tmp_path / "MNIST/raw"
    shutil.copytree(mnist_dir / "MNIST/raw", raw)
    (raw / broken).chmod(0o644)
    (raw / broken).write_bytes((raw / broken).read_bytes()[:100])
    with pytest.raises(ConfigError) as caught:
        MNISTDataModule(data_dir=str(tmp_path)).prepare_data()
    message = str(caught.value)
    assert "\n" not in message and str(raw) in message
    assert "could not be read" in message and "download again" in message
    assert not offline  # the files exist: nothing to download


def test_crop_keeps_shape_and_dtype():
    as_bytes = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    for images in (as_bytes, torch.rand(5, 1, 28, 28)):
        for augment in (random_crop, random_hflip):
            out = augment(images)
            assert out.shape == images.shape and out.dtype == images.dtype


def shifted(image: torch.Tensor, dy: int, dx: int, padding: int = 4) -> torch.Tensor:
    """`image` moved by (dy, dx) pixels with zero fill, one image at a time (the slow reference)."""
    height, width = image.shape[-2:]
    padded = torch.nn.functional.pad(image, (padding,) * 4)
    return padded[:, padding - dy : padding - dy + height, padding - dx : padding - dx + width]


def test_crop_is_a_real_shift():
    images = torch.rand(16, 2, 12, 10)
    out = random_crop(images, padding=4, generator=torch.Generator().manual_seed(0))
    moves = []
    for image, cropped in zip(images, out, strict=True):
        shifts = [
            (dy, dx)
            for dy in range(-4, 5)
            for dx in range(-4, 5)
            if torch.equal(shifted(image, dy, dx), cropped)
        ]
        assert len(shifts) == 1  # exactly one shift explains each output
        moves.append(shifts[0])
    assert len(set(moves)) > 4  # offsets differ from image to image


def test_flip_flips_some_images_and_keeps_the_others():
    images = torch.rand(32, 3, 8, 8)
    out = random_hflip(images, generator=torch.Generator().manual_seed(0))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, images, strict=True)]
    kept = [torch.equal(o, i) for o, i in zip(out, images, strict=True)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True)) and 0 < sum(flipped) < 32
    assert torch.equal(random_hflip(images, p=1.0), images.flip(-1))


def test_augmentation_is_deterministic_with_a_seeded_generator():
    images = torch.rand(8, 3, 32, 32)
    for augment in (random_crop, random_hflip):
        a = augment(images, generator=torch.Generator().manual_seed(3))
        b = augment(images, generator=torch.Generator().manual_seed(3))
        c = augment(images, generator=torch.Generator().manual_seed(4))
        assert torch.equal(a, b) and not torch.equal(a, c)


def ramp_batch(n: int = 64):
    """Images whose value grows left to right: a flip makes the middle columns decrease."""
    row = torch.arange(32, dtype=torch.uint8) * 8
    return row.expand(n, 3, 32, 32).clone(), torch.zeros(n, dtype=torch.long)


@pytest.mark.parametrize("module_class", [CIFAR10DataModule, SVHNDataModule])
def test_augmentation_only_when_training(module_class):
    module = module_class(data_dir="/nowhere", augment=True)
    torch.manual_seed(0)
    batch = ramp_batch()
    plain = batch[0].float() / 255
    for trainer in (None, SimpleNamespace(training=False)):
        module.trainer = trainer
        assert torch.equal(module.on_after_batch_transfer(batch, 0)[0], plain)
    module.trainer = SimpleNamespace(training=True)
    images, _ = module.on_after_batch_transfer(batch, 0)
    assert images.shape == plain.shape and images.dtype == torch.float32
    assert not torch.equal(images, plain)
    mirrored = images[:, 0, 16, 15] > images[:, 0, 16, 16]  # columns 15-16 stay inside the image
    assert mirrored.any() == module_class.spec.flip  # CIFAR flips, SVHN (digits) does not
