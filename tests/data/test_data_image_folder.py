"""ImageFolderDataModule on a tiny tree of PNGs written here: classes, split, batches, errors."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from dlnotes.data.image_folder import ImageFolderDataModule
from dlnotes.errors import ConfigError
from helpers.paths import ROOT

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """3 classes × 6 PNGs of mixed sizes, half RGB and half gray."""
    root = tmp_path_factory.mktemp("images")
    generator = torch.Generator().manual_seed(0)
    for label, name in enumerate(CLASSES):
        (root / name).mkdir()
        for i in range(6):
            size = (10 + i, 12)
            pixels = torch.randint(0, 256, (size[1], size[0], 3), generator=generator)
            image = Image.fromarray(pixels.to(torch.uint8).numpy(), mode="RGB")
            (image if i % 2 else image.convert("L")).save(root / name / f"{label}_{i}.png")
    return root


def test_classes_and_shape_known_before_setup(tree):
    module = ImageFolderDataModule(root=str(tree), image_size=16)
    assert module.num_classes == 3 and module.classes == CLASSES
    assert module.image_shape == (3, 16, 16)


def test_split_sizes_and_seed(tree):
    module = ImageFolderDataModule(root=str(tree), val_fraction=0.1, test_fraction=0.1)
    module.setup("fit")
    sizes = {name: len(subset) for name, subset in module.subsets.items()}
    assert sizes == {"train": 14, "val": 2, "test": 2}

    def test_indices(split_seed: int) -> list[int]:
        other = ImageFolderDataModule(root=str(tree), split_seed=split_seed, seed=5)
        other.setup()
        return other.subsets["test"].indices

    assert test_indices(0) == module.subsets["test"].indices != test_indices(1)


@pytest.mark.parametrize("channels", [3, 1])
def test_batch_shapes(tree, channels):
    module = ImageFolderDataModule(root=str(tree), image_size=16, channels=channels, batch_size=4)
    images, labels = next(iter(module.train_dataloader()))
    assert images.shape == (4, channels, 16, 16) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert labels.dtype == torch.int64 and set(labels.tolist()) <= {0, 1, 2}
    assert len(next(iter(module.val_dataloader()))[1]) == 2


def test_workers_persist(tree):
    loader = ImageFolderDataModule(root=str(tree), num_workers=2).train_dataloader()
    assert loader.num_workers == 2 and loader.persistent_workers


def test_config(tree):
    root = OmegaConf.create({"seed": 0})
    root.data = OmegaConf.load(ROOT / "conf/data/image_folder.yaml")
    root.data.update({"root": str(tree), "channels": 1, "image_size": 20})
    module = instantiate(root.data)
    assert module.image_shape == (1, 20, 20) and module.declared_image_shape == (1, 20, 20)
    module.setup()  # the declared shape matches; num_classes is null, taken from the folders


def test_missing_root(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as caught:
        ImageFolderDataModule(root=str(missing))
    message = str(caught.value)
    assert "\n" not in message and str(missing) in message and "root/<class>/<image>.png" in message


def test_class_folders_without_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    module = ImageFolderDataModule(root=str(tmp_path))
    with pytest.raises(ConfigError, match="root/<class>/<image>.png") as caught:
        module.setup()
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)


def test_declared_num_classes_mismatch(tree):
    module = ImageFolderDataModule(root=str(tree), num_classes=5)
    with pytest.raises(ConfigError, match=r"num_classes=5.* 3 classes"):
        module.setup()


def test_bad_channels(tree):
    with pytest.raises(ConfigError, match="channels"):
        ImageFolderDataModule(root=str(tree), channels=4)
