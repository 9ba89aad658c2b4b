"""Digit scenes: masks agree with the pixels, boxes with the masks, splits use disjoint glyphs,
the scenes are reproducible, the config composes and bad arguments fail in one line."""

import pytest
import torch
from hydra.utils import instantiate

from dlnotes.data.digit_scenes import DigitScenesDataModule
from dlnotes.errors import ConfigError
from helpers.compose import compose_config
from helpers.data import TINY_MNIST_SIZES

SMALL = {"train_size": 120, "val_size": 30, "test_size": 30}


def scenes(**kwargs) -> DigitScenesDataModule:
    """A small set of scenes, set up."""
    module = DigitScenesDataModule(**{**SMALL, **kwargs})
    module.setup()
    return module


@pytest.fixture(scope="module")
def module() -> DigitScenesDataModule:
    return scenes()


def box_map(boxes: torch.Tensor, classes: torch.Tensor, size: int) -> torch.Tensor:
    """(size, size) int64: each box painted with 1 + its class, 0 elsewhere."""
    painted = torch.zeros(size, size, dtype=torch.long)
    for (x1, y1, x2, y2), label in zip(boxes.long().tolist(), classes.tolist(), strict=True):
        assert (painted[y1:y2, x1:x2] == 0).all(), "boxes of one scene overlap"
        painted[y1:y2, x1:x2] = 1 + label
    return painted


def test_shapes_dtypes_and_classes(module):
    assert module.num_classes == 11 and module.image_shape == (1, 64, 64)
    for name, (images, masks) in module.splits.items():
        n = SMALL[f"{name}_size"]
        assert images.shape == (n, 1, 64, 64) and images.dtype == torch.uint8
        assert masks.shape == (n, 64, 64) and masks.dtype == torch.int64
        assert int(masks.min()) >= 0 and int(masks.max()) <= 10
        assert len(module.boxes[name]) == n == len(module.glyph_ids[name])
    train_classes = torch.cat([labels for _, labels in module.boxes["train"]])
    assert set(train_classes.tolist()) == set(range(10))
    assert set(module.splits["train"][1].unique().tolist()) == set(range(11))


def test_same_seed_same_scenes_other_seed_other_scenes(module):
    again, other = scenes(), scenes(scene_seed=1)
    for name in ("train", "val", "test"):
        pairs = zip(module.split(name), again.split(name), strict=True)
        assert all(torch.equal(a, b) for a, b in pairs)
        for (b1, l1), (b2, l2) in zip(module.boxes[name], again.boxes[name], strict=True):
            assert torch.equal(b1, b2) and torch.equal(l1, l2)
        assert not torch.equal(module.split(name)[0], other.split(name)[0])


def test_val_and_test_scenes_do_not_depend_on_train_size(module):
    bigger = scenes(train_size=200)
    assert torch.equal(bigger.split("test")[1], module.split("test")[1])
    assert torch.equal(bigger.split("val")[0], module.split("val")[0])
    assert len(bigger.split("train")[0]) == 200


def test_mask_is_exactly_the_thresholded_ink(module):
    for images, masks in module.splits.values():
        ink = images[:, 0].float() > 0.3 * 255
        assert torch.equal(masks > 0, ink)
        assert (images[:, 0][masks == 0] <= 76).all()  # background: black or faint edges
        assert (images[:, 0][masks == 0] == 0).float().mean() > 0.8
        assert 0.03 < ink.float().mean() < 0.5  # digits, not noise and not a white canvas


def test_boxes_are_tight_around_their_digit_and_labels_match_the_mask(module):
    images, masks = module.split("val")
    for mask, (boxes, classes) in zip(masks, module.boxes["val"], strict=True):
        assert boxes.dtype == torch.float32 and boxes.shape == (len(classes), 4)
        assert classes.dtype == torch.int64 and ((classes >= 0) & (classes <= 9)).all()
        painted = box_map(boxes, classes, 64)
        assert torch.equal(painted[mask > 0], mask[mask > 0])  # every ink pixel in its own box
        for (x1, y1, x2, y2), label in zip(boxes.long().tolist(), classes.tolist(), strict=True):
            inside = mask[y1:y2, x1:x2] == 1 + label
            edges = (inside[0], inside[-1], inside[:, 0], inside[:, -1])
            assert all(edge.any() for edge in edges), "box not tight"


def test_digits_per_scene_stay_in_range():
    module = scenes(min_digits=1, max_digits=3)
    counts = torch.tensor([len(labels) for _, labels in module.boxes["train"]])
    assert counts.min() >= 1 and counts.max() <= 3 and len(counts.unique()) == 3
    exact = scenes(min_digits=3, max_digits=3, min_digit_size=20, max_digit_size=24)
    assert all(len(labels) == 3 for _, labels in exact.boxes["train"])
    sizes = torch.cat([b[:, 2:] - b[:, :2] for b, _ in exact.boxes["train"]])
    assert sizes.max() <= 24  # the ink fits in the pasted square


def test_splits_draw_on_disjoint_glyphs(module):
    pools = {name: set(ids.tolist()) for name, ids in module.glyph_splits.items()}
    assert not pools["train"] & pools["val"] and not pools["train"] & pools["test"]
    assert not pools["val"] & pools["test"]
    _, glyph_labels = module.load_glyphs()
    for name, per_scene in module.glyph_ids.items():
        used = torch.cat(per_scene)
        assert set(used.tolist()) <= pools[name]
        classes = torch.cat([labels for _, labels in module.boxes[name]])
        assert torch.equal(glyph_labels[used], classes)


def test_config_composes_and_batches_pair_images_with_masks(tmp_path):
    overrides = ["data=digit_scenes", "data.image_size=48", "data.max_digit_size=24"]
    sizes = [f"data.{name}={n}" for name, n in SMALL.items()]
    cfg = compose_config([*overrides, *sizes, "data.batch_size=16"], tmp_path)
    assert list(cfg.data.image_shape) == [1, 48, 48] and cfg.data.num_classes == 11
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    assert datamodule.image_shape == (1, 48, 48)
    batches = list(datamodule.train_dataloader())
    assert len(batches) == 8
    images, masks = batches[0]
    assert images.shape == (16, 1, 48, 48) and masks.shape == (16, 48, 48)
    assert torch.equal(masks > 0, images[:, 0].float() > 0.3 * 255)
    floats, same_masks = datamodule.on_after_batch_transfer((images, masks), 0)
    assert floats.dtype == torch.float32 and float(floats.max()) <= 1.0
    assert same_masks is masks


def test_mnist_glyphs(mnist_dir):
    module = scenes(source="mnist", data_dir=str(mnist_dir), download=False)
    assert sum(len(ids) for ids in module.glyph_splits.values()) == sum(TINY_MNIST_SIZES.values())
    for name, (images, masks) in module.splits.items():
        assert images.shape == (SMALL[f"{name}_size"], 1, 64, 64)
        assert torch.equal(masks > 0, images[:, 0].float() > 0.3 * 255)
        assert set(masks.unique().tolist()) - {0}  # some digits
    boxes = torch.cat([b for b, _ in module.boxes["train"]])
    assert (boxes[:, 3] - boxes[:, 1]).float().mean() > 14  # cropped to the ink: tall digits


def test_missing_mnist_says_where_in_one_line(tmp_path):
    module = DigitScenesDataModule(source="mnist", data_dir=str(tmp_path), download=False)
    with pytest.raises(ConfigError, match="MNIST not found in .*data.download=true") as error:
        module.setup()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min_digits": 5, "max_digits": 4}, r"data.min_digits=5 must be .*max_digits=4"),
        ({"image_size": 24}, r"data.max_digit_size=28 must lie in .*image_size=24"),
        ({"min_digits": 20, "max_digits": 20}, r"cannot fit in 64×64"),
        ({"source": "svhn"}, r"data.source='svhn' is unknown"),
        ({"ink_threshold": 1.5}, r"data.ink_threshold must lie in \(0, 1\)"),
        ({"glyph_val_fraction": 0.5, "glyph_test_fraction": 0.5}, r"sum below 1"),
        ({"train_size": 0}, r"data.train_size must be a positive integer"),
    ],
)
def test_bad_arguments_fail_with_one_line(arguments, message):
    with pytest.raises(ConfigError, match=message) as error:
        DigitScenesDataModule(**arguments)
    assert "\n" not in str(error.value)
