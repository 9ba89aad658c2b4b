"""VOCSegmentationDataModule on a tiny VOC-layout folder written here: batches, paired transforms,
nearest-neighbour masks and the errors. Nothing here downloads: the network is one that fails."""

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from dlnotes.data.voc import (
    IGNORE_INDEX,
    VOCSegmentationDataModule,
    eval_transform,
    train_transform,
)
from dlnotes.errors import ConfigError
from helpers.compose import compose_config
from helpers.voc import (
    HEIGHT,
    RECTANGLES,
    TRAIN,
    VAL,
    WIDTH,
    drawn_pair,
    palette_png,
    write_voc,
)

LABELS = {0, IGNORE_INDEX} | {label for label, *_ in RECTANGLES}


@pytest.fixture(scope="module")
def voc_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    write_voc(data_dir)
    return data_dir


def test_fixture_masks_are_voc_palette_pngs(voc_dir):
    png = Image.open(voc_dir / f"VOCdevkit/VOC2012/SegmentationClass/{TRAIN[0]}.png")
    assert png.mode == "P" and set(np.unique(np.array(png)).tolist()) == LABELS
    assert png.getpalette()[15 * 3 : 15 * 3 + 3] == [192, 128, 128]  # VOC's "person" colour


def test_loads_offline_with_batch_shapes_and_dtypes(voc_dir, offline):
    module = VOCSegmentationDataModule(data_dir=str(voc_dir), crop_size=32, batch_size=3)
    assert module.num_classes == 21 and module.image_shape == (3, 32, 32)
    assert module.ignore_index == 255 and module.classes[15] == "person"
    module.prepare_data()
    module.setup("fit")
    images, masks = next(iter(module.train_dataloader()))
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.float32
    assert type(images) is torch.Tensor and type(masks) is torch.Tensor  # not tv_tensors
    assert images.min() >= 0 and images.max() <= 1 and images.max() > 0.9
    assert masks.shape == (3, 32, 32) and masks.dtype == torch.int64
    sizes = {name: len(module.datasets[name]) for name in ("train", "val", "test")}
    assert sizes == {"train": len(TRAIN), "val": len(VAL), "test": len(VAL)}
    assert module.test_dataloader().dataset is module.val_dataloader().dataset  # no public test
    val_images, val_masks = next(iter(module.val_dataloader()))
    assert val_images.shape == (2, 3, 32, 32) and val_masks.shape == (2, 32, 32)
    assert not offline  # the files are there: nothing downloaded


@pytest.mark.parametrize("crop_size", [16, 64])  # smaller and larger than the images
def test_masks_hold_only_the_written_labels(voc_dir, crop_size):
    module = VOCSegmentationDataModule(data_dir=str(voc_dir), crop_size=crop_size, batch_size=2)
    torch.manual_seed(0)
    for loader in (module.train_dataloader(), module.val_dataloader()):
        seen = set()
        for _, masks in loader:
            seen |= set(masks.unique().tolist())
        assert seen <= LABELS and IGNORE_INDEX in seen and 15 in seen


def test_eval_transform_keeps_a_same_size_mask_exactly(voc_dir):
    """Shorter side already crop_size: no resize, only the central square of columns 5..45."""
    module = VOCSegmentationDataModule(data_dir=str(voc_dir), crop_size=HEIGHT)
    module.setup("validate")
    image, mask = module.datasets["val"][0]
    png = Image.open(voc_dir / f"VOCdevkit/VOC2012/SegmentationClass/{VAL[0]}.png")
    expected = torch.from_numpy(np.array(png)[:, 5:45].astype(np.int64))
    assert image.shape == (3, HEIGHT, HEIGHT) and torch.equal(mask, expected)


def red_and_blue(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the transformed image is closer to the red (blue) rectangle than to gray."""
    r, g, b = image
    return (r - b > 0.25) & (r - g > 0.25), (b - r > 0.25) & (b - g > 0.25)


def test_flip_moves_image_and_mask_together():
    """Whole image kept (scale 1, square): the output is the input or its mirror, exactly, and
    the mask's class regions sit on the coloured pixels either way."""
    image, mask = drawn_pair(HEIGHT, HEIGHT)
    transform = train_transform(HEIGHT, scale=(1.0, 1.0))
    original = torch.from_numpy(mask).long()
    flipped = []
    for seed in range(8):
        torch.manual_seed(seed)
        out_image, out_mask = transform(Image.fromarray(image), palette_png(mask))
        mirrored = torch.equal(out_mask, original.flip(-1))
        assert mirrored or torch.equal(out_mask, original)
        flipped.append(mirrored)
        red, blue = red_and_blue(out_image)
        assert torch.equal(red, out_mask == 15) and torch.equal(blue, out_mask == 7)
    assert any(flipped) and not all(flipped)


def test_random_resized_crop_keeps_image_and_mask_aligned():
    """Random crops, rescales and flips: the class regions still cover the coloured pixels, up
    to a pixel at the edges (the image is interpolated there), and no new labels appear."""
    image, mask = drawn_pair()
    transform = train_transform(64, scale=(0.25, 1.0))
    flips = 0
    for seed in range(12):
        torch.manual_seed(seed)
        out_image, out_mask = transform(Image.fromarray(image), palette_png(mask))
        assert set(out_mask.unique().tolist()) <= LABELS
        for colour, label in zip(red_and_blue(out_image), (15, 7), strict=True):
            region = out_mask == label
            disagree = colour ^ region
            near_edge = edge_band(region, width=2)
            assert not (disagree & ~near_edge).any(), f"seed {seed}: misaligned class {label}"
            if region.sum() > 200:  # enough of the rectangle: a misaligned mask would show
                mirrored = region.flip(-1)
                flips += (colour ^ mirrored).sum() > (colour ^ region).sum() + 50
    assert flips > 0  # the mirrored mask was clearly worse at least once: the test can fail


def edge_band(region: torch.Tensor, width: int) -> torch.Tensor:
    """Pixels within `width` of a change between region and not region."""
    as_float = region[None, None].float()
    kernel = 2 * width + 1
    grown = torch.nn.functional.max_pool2d(as_float, kernel, stride=1, padding=width)
    shrunk = -torch.nn.functional.max_pool2d(-as_float, kernel, stride=1, padding=width)
    return (grown != shrunk)[0, 0]


@pytest.mark.parametrize(
    "make", [lambda: train_transform(97), lambda: eval_transform(13)], ids=["train", "eval"]
)
def test_masks_are_resized_with_nearest_neighbours(make):
    """Random labels on every pixel: any interpolation but nearest would invent new values."""
    generator = torch.Generator().manual_seed(0)
    values = torch.tensor([0, 3, 20, IGNORE_INDEX], dtype=torch.uint8)
    mask = values[torch.randint(0, 4, (HEIGHT, WIDTH), generator=generator)].numpy()
    image = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    torch.manual_seed(1)
    _, out = make()(Image.fromarray(image), palette_png(mask))
    assert out.dtype == torch.int64 and out.ndim == 2
    assert set(out.unique().tolist()) == set(values.tolist())


def test_setup_without_files_gives_the_same_error(tmp_path):
    module = VOCSegmentationDataModule(data_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="not found in .*VOC2012"):
        module.setup()
    with pytest.raises(ConfigError, match="not found in .*VOC2012"):  # torchvision's RuntimeError
        module._dataset("train", eval_transform(8))


def test_missing_listed_file_is_named(tmp_path):
    voc = write_voc(tmp_path)
    (voc / f"SegmentationClass/{VAL[1]}.png").unlink()
    with pytest.raises(ConfigError) as caught:
        VOCSegmentationDataModule(data_dir=str(tmp_path)).setup()
    message = str(caught.value)
    assert "\n" not in message and str(voc) in message and "incomplete" in message
    assert f"SegmentationClass/{VAL[1]}.png" in message and "val.txt" in message


def test_missing_split_list_is_named(tmp_path):
    voc = write_voc(tmp_path)
    (voc / "ImageSets/Segmentation/val.txt").unlink()
    with pytest.raises(ConfigError, match=r"missing ImageSets/Segmentation/val\.txt\)"):
        VOCSegmentationDataModule(data_dir=str(tmp_path)).setup()


def test_config_composes_and_instantiates(voc_dir, tmp_path):
    overrides = ["data=voc_segmentation", f"data.data_dir={voc_dir}"]
    cfg = compose_config(overrides, tmp_path)
    module = instantiate(cfg.data)
    assert type(module) is VOCSegmentationDataModule and module.data_dir == voc_dir.resolve()
    assert not module.download and module.num_workers == 4 and module.scale == (0.25, 1.0)
    assert module.declared_image_shape == module.image_shape == (3, 256, 256)
    small = compose_config([*overrides, "data.crop_size=24", "data.num_workers=0"], tmp_path)
    module = instantiate(small.data)
    module.setup()  # the declared num_classes and image_shape match
    images, masks = next(iter(module.val_dataloader()))
    assert images.shape[1:] == (3, 24, 24) and masks.shape[1:] == (24, 24)


def test_workers_persist(voc_dir):
    loader = VOCSegmentationDataModule(data_dir=str(voc_dir), num_workers=2).train_dataloader()
    assert loader.num_workers == 2 and loader.persistent_workers


def test_declared_num_classes_mismatch(voc_dir):
    module = VOCSegmentationDataModule(data_dir=str(voc_dir), num_classes=20)
    with pytest.raises(ConfigError, match=r"num_classes=20.* 21 classes"):
        module.setup()


@pytest.mark.parametrize("options", [{"crop_size": 0}, {"scale": (0.5, 0.2)}, {"scale": (0, 1)}])
def test_bad_options(options):
    with pytest.raises(ConfigError, match=next(iter(options))):
        VOCSegmentationDataModule(data_dir="/nowhere", **options)
