"""Detection batches `(images, list of {"boxes", "labels"} dicts)`: digit scenes with
task=detection, and Pascal VOC detection on a tiny VOC-layout folder written here (nothing
downloads: the network is one that fails)."""

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image
from torchvision.datasets import VOCDetection

from dlnotes.data.digit_scenes import DetectionBatches, DigitScenesDataModule
from dlnotes.data.voc_detection import (
    VOCDetectionDataModule,
    collate,
    eval_transform,
    parse_objects,
    train_transform,
)
from dlnotes.errors import ConfigError
from helpers.compose import compose_config

SMALL = {"train_size": 120, "val_size": 30, "test_size": 30}


@pytest.fixture(scope="module")
def scenes() -> DigitScenesDataModule:
    module = DigitScenesDataModule(task="detection", batch_size=16, seed=3, **SMALL)
    module.setup()
    return module


def check_targets(targets: list[dict], size: int) -> None:
    """torchvision's detection format: boxes float (K, 4) inside the image, labels 1..10."""
    assert type(targets) is list
    for target in targets:
        boxes, labels = target["boxes"], target["labels"]
        assert set(target) == {"boxes", "labels"}
        assert boxes.dtype == torch.float32 and boxes.shape == (len(labels), 4)
        assert labels.dtype == torch.int64 and ((labels >= 1) & (labels <= 10)).all()
        assert (boxes >= 0).all() and (boxes <= size).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()


def test_digit_scene_batches_are_images_and_target_dicts(scenes):
    assert scenes.num_classes == 11 and scenes.class_names[1] == "0"
    images, _ = scenes.split("val")
    batches = list(scenes.val_dataloader())
    assert len(batches) == 2 and [len(t) for _, t in batches] == [16, 14]
    for start, (batch_images, targets) in zip((0, 16), batches, strict=True):
        assert batch_images.dtype == torch.uint8 and batch_images.shape[1:] == (1, 64, 64)
        assert torch.equal(batch_images, images[start : start + len(targets)])  # val: in order
        check_targets(targets, 64)
        for i, target in enumerate(targets, start):
            boxes, classes = scenes.boxes["val"][i]
            assert torch.equal(target["boxes"], boxes)
            assert torch.equal(target["labels"], classes + 1)
    labels = torch.cat([t["labels"] for _, targets in scenes.train_dataloader() for t in targets])
    assert set(labels.tolist()) == set(range(1, 11))  # every digit, none as background


def test_targets_are_copies(scenes):
    _, targets = next(iter(scenes.val_dataloader()))
    targets[0]["boxes"].zero_()
    targets[0]["labels"].fill_(0)
    boxes, classes = scenes.boxes["val"][0]
    assert (boxes[:, 2:] > 0).all() and torch.equal(scenes.targets("val")[0]["labels"], classes + 1)


def test_shuffled_order_follows_set_epoch_like_segmentation(scenes):
    segmentation = DigitScenesDataModule(batch_size=16, seed=3, **SMALL)
    images, masks = segmentation.split("train")
    orders = []
    for epoch in (0, 5, 5):
        detection, masks_loader = scenes.train_dataloader(), segmentation.train_dataloader()
        detection.sampler.set_epoch(epoch)
        masks_loader.sampler.set_epoch(epoch)
        order = detection.sampler.indices()
        batches = list(detection)
        assert len(batches) == len(detection) == 8
        seen = torch.cat([batch_images for batch_images, _ in batches])
        assert torch.equal(seen, images[order])
        assert torch.equal(seen, torch.cat([b for b, _ in masks_loader]))  # same scenes, order
        targets = [t for _, batch_targets in batches for t in batch_targets]
        expected = scenes.targets("train")
        for i, target in zip(order.tolist(), targets, strict=True):
            assert torch.equal(target["boxes"], expected[i]["boxes"])
            assert torch.equal(target["labels"], expected[i]["labels"])
        orders.append(order)
    assert not torch.equal(orders[0], orders[1]) and torch.equal(orders[1], orders[2])
    assert sorted(orders[0].tolist()) == list(range(SMALL["train_size"]))


def test_ddp_shares_are_disjoint(scenes):
    images, _ = scenes.split("val")
    targets = scenes.targets("val")
    shares = [
        DetectionBatches(images, targets, 4, shuffle=True, seed=1, rank=rank, world_size=2)
        for rank in (0, 1)
    ]
    orders = [share.sampler.indices() for share in shares]
    assert len(shares[0]) == len(shares[1]) == 4  # 15 scenes each, batches of 4
    assert sorted(torch.cat(orders).tolist()) == list(range(30))
    for share, order in zip(shares, orders, strict=True):
        seen = [t["boxes"] for _, batch_targets in share for t in batch_targets]
        pairs = zip(seen, order.tolist(), strict=True)
        assert all(torch.equal(boxes, targets[i]["boxes"]) for boxes, i in pairs)


def test_images_become_floats_on_the_device_and_targets_travel(scenes):
    batch = next(iter(scenes.val_dataloader()))
    moved = scenes.transfer_batch_to_device(batch, torch.device("cpu"), 0)
    images, targets = scenes.on_after_batch_transfer(moved, 0)
    assert images.dtype == torch.float32 and 0 <= float(images.min()) <= float(images.max()) <= 1
    assert torch.equal(images, batch[0].float() / 255)
    assert type(targets) is list and len(targets) == 16 and set(targets[0]) == {"boxes", "labels"}
    assert all(torch.equal(a["boxes"], b["boxes"]) for a, b in zip(targets, batch[1], strict=True))


def test_detection_config_composes(tmp_path):
    sizes = [f"data.{name}={n}" for name, n in SMALL.items()]
    overrides = ["data=digit_scenes_detection", "data.image_size=48", "data.max_digit_size=24"]
    cfg = compose_config([*overrides, *sizes, "data.batch_size=32"], tmp_path)
    assert cfg.data.task == "detection" and cfg.data.num_classes == 11
    assert list(cfg.data.image_shape) == [1, 48, 48] and cfg.data.source == "digits"
    module = instantiate(cfg.data)
    module.setup("fit")
    images, targets = next(iter(module.train_dataloader()))
    assert images.shape == (32, 1, 48, 48) and len(targets) == 32
    check_targets(targets, 48)
    default = compose_config(["data=digit_scenes"], tmp_path)
    assert default.data.task == "segmentation"


def test_unknown_task_fails_in_one_line():
    with pytest.raises(ConfigError, match=r"data.task='boxes' is unknown") as error:
        DigitScenesDataModule(task="boxes")
    assert "\n" not in str(error.value)


# --- Pascal VOC detection on a tiny VOC layout -------------------------------------------

HEIGHT, WIDTH = 32, 64
TRAIN = ["2007_000000", "2007_000001", "2007_000002"]
VAL = ["2008_000010", "2008_000011"]
# (class, label, difficult, RGB colour, 0-based inclusive rows, columns) drawn into each image
OBJECTS = [
    ("person", 15, "0", (255, 0, 0), (2, 13), (4, 19)),
    ("car", 7, "1", (0, 0, 255), (16, 29), (36, 59)),
]
# as pixel edges x1, y1, x2, y2 of the 64×32 image, then resized to 16×16 (×1/4, ×1/2)
BOXES = torch.tensor([[4.0, 2, 20, 14], [36, 16, 60, 30]])
BOXES_16 = torch.tensor([[1.0, 1, 5, 7], [9, 8, 15, 15]])
BOXES_16_FLIPPED = torch.tensor([[11.0, 1, 15, 7], [1, 8, 7, 15]])


def annotation_xml(name: str, objects=OBJECTS) -> str:
    """VOC's XML: 1-based inclusive bndbox corners; the last image's objects lack <difficult>."""
    parts = []
    for cls, _, difficult, _, (r1, r2), (c1, c2) in objects:
        flag = f"<difficult>{difficult}</difficult>" if name != VAL[-1] else ""
        parts.append(
            f"<object><name>{cls}</name><pose>Unspecified</pose><truncated>0</truncated>{flag}"
            f"<bndbox><xmin>{c1 + 1}</xmin><ymin>{r1 + 1}</ymin><xmax>{c2 + 1}</xmax>"
            f"<ymax>{r2 + 1}</ymax></bndbox></object>"
        )
    return (
        f"<annotation><folder>VOC2012</folder><filename>{name}.jpg</filename><size><width>"
        f"{WIDTH}</width><height>{HEIGHT}</height><depth>3</depth></size><segmented>0</segmented>"
        f"{''.join(parts)}</annotation>"
    )


def drawn_image() -> np.ndarray:
    image = np.full((HEIGHT, WIDTH, 3), 128, dtype=np.uint8)
    for *_, colour, (r1, r2), (c1, c2) in OBJECTS:
        image[r1 : r2 + 1, c1 : c2 + 1] = colour
    return image


def write_voc_detection(data_dir: Path, train=TRAIN, val=VAL) -> Path:
    """data_dir/VOCdevkit/VOC2012 with JPEGImages/, Annotations/ and ImageSets/Main lists; the
    second training image shows only the person."""
    voc = data_dir / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    for name in [*train, *val]:
        Image.fromarray(drawn_image()).save(voc / f"JPEGImages/{name}.jpg", quality=95)
        objects = OBJECTS[:1] if name == TRAIN[1] else OBJECTS
        (voc / f"Annotations/{name}.xml").write_text(annotation_xml(name, objects))
    for split, names in (("train", train), ("val", val)):
        (voc / f"ImageSets/Main/{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return voc


@pytest.fixture(scope="module")
def voc_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    write_voc_detection(data_dir)
    return data_dir


def test_voc_loads_offline_as_images_and_target_dicts(voc_dir, offline):
    module = VOCDetectionDataModule(data_dir=str(voc_dir), image_size=16, batch_size=3)
    assert module.num_classes == 21 and module.image_shape == (3, 16, 16)
    module.prepare_data()
    module.setup("fit")
    sizes = {name: len(module.datasets[name]) for name in ("train", "val", "test")}
    assert sizes == {"train": len(TRAIN), "val": len(VAL), "test": len(VAL)}
    images, targets = next(iter(module.train_dataloader()))
    assert images.shape == (3, 3, 16, 16) and images.dtype == torch.float32
    assert type(images) is torch.Tensor and images.min() >= 0 and images.max() <= 1
    assert type(targets) is list and len(targets) == 3
    for target in targets:
        assert set(target) == {"boxes", "labels", "difficult"}
        assert type(target["boxes"]) is torch.Tensor and target["boxes"].dtype == torch.float32
        assert target["labels"].dtype == torch.int64 and target["difficult"].dtype == torch.bool
    assert sorted(len(t["labels"]) for t in targets) == [1, 2, 2]
    val_images, val_targets = next(iter(module.val_dataloader()))
    assert val_images.shape == (2, 3, 16, 16)
    for target in val_targets:  # resized, not flipped: exactly the scaled boxes
        assert torch.equal(target["boxes"], BOXES_16) and target["labels"].tolist() == [15, 7]
    assert val_targets[0]["difficult"].tolist() == [False, True]
    assert val_targets[1]["difficult"].tolist() == [False, False]  # no <difficult>: not difficult
    assert not offline  # the files are there: nothing downloaded


def test_voc_boxes_are_pixel_edges_on_the_object():
    """Unresized: box = the rectangle's pixel edges; the box's pixels are the object's colour."""
    image = Image.fromarray(drawn_image())
    pixels, target = eval_transform(64)(image, {"annotation": {"object": []}})
    assert pixels.shape == (3, 64, 64) and target["boxes"].shape == (0, 4)
    annotation = tvd_parse(annotation_xml(VAL[0]))
    assert torch.equal(parse_objects(annotation)["boxes"], BOXES)
    pixels, target = eval_transform(64)(image, annotation)  # rows doubled, columns kept
    (x1, y1, x2, y2), _ = target["boxes"].long().tolist()
    assert torch.equal(target["boxes"], BOXES * torch.tensor([1.0, 2, 1, 2]))
    red = pixels[0] - pixels[2] > 0.5
    inside = red[y1:y2, x1:x2]
    assert inside[1:-1, 1:-1].all() and red.sum() <= inside.numel()  # edges blur over a pixel


def tvd_parse(xml: str) -> dict:
    """The annotation as `VOCDetection` hands it to its transforms."""
    return VOCDetection.parse_voc_xml(ET.fromstring(xml))


def test_voc_flip_moves_boxes_with_the_image():
    """Training: resized exactly as in evaluation, then either kept or mirrored together."""
    image, annotation = Image.fromarray(drawn_image()), tvd_parse(annotation_xml(TRAIN[0]))
    resized, target = eval_transform(16)(image, annotation)
    assert torch.equal(target["boxes"], BOXES_16)
    flipped = []
    for seed in range(8):
        torch.manual_seed(seed)
        out, out_target = train_transform(16)(image, annotation)
        mirrored = torch.equal(out_target["boxes"], BOXES_16_FLIPPED)
        assert mirrored or torch.equal(out_target["boxes"], BOXES_16)
        assert torch.equal(out, resized.flip(-1) if mirrored else resized)
        assert out_target["labels"].tolist() == [15, 7]
        flipped.append(mirrored)
    assert any(flipped) and not all(flipped)


def test_voc_difficult_objects_can_be_dropped(voc_dir):
    module = VOCDetectionDataModule(data_dir=str(voc_dir), image_size=16, keep_difficult=False)
    module.setup()
    _, target = module.datasets["val"][0]
    assert target["labels"].tolist() == [15] and torch.equal(target["boxes"], BOXES_16[:1])
    _, target = module.datasets["val"][1]  # no <difficult> tag: kept
    assert target["labels"].tolist() == [15, 7]


def test_voc_collate_keeps_the_list_of_dicts():
    samples = [(torch.zeros(3, 4, 4), {"boxes": torch.zeros(k, 4)}) for k in (0, 2)]
    images, targets = collate(samples)
    assert images.shape == (2, 3, 4, 4) and [len(t["boxes"]) for t in targets] == [0, 2]


def test_voc_unknown_class_is_named():
    xml = annotation_xml(TRAIN[0]).replace("<name>car</name>", "<name>truck</name>")
    with pytest.raises(ConfigError, match=r"2007_000000\.jpg names an unknown class 'truck'"):
        parse_objects(tvd_parse(xml))


def test_voc_missing_annotation_is_named(tmp_path):
    voc = write_voc_detection(tmp_path)
    (voc / f"Annotations/{VAL[1]}.xml").unlink()
    with pytest.raises(ConfigError) as caught:
        VOCDetectionDataModule(data_dir=str(tmp_path)).setup()
    message = str(caught.value)
    assert "\n" not in message and "incomplete" in message and "ImageSets/Main/val.txt" in message
    assert f"Annotations/{VAL[1]}.xml" in message


def test_voc_detection_config_composes(voc_dir, tmp_path):
    overrides = ["data=voc_detection", f"data.data_dir={voc_dir}"]
    cfg = compose_config(overrides, tmp_path)
    module = instantiate(cfg.data)
    assert type(module) is VOCDetectionDataModule and module.data_dir == voc_dir.resolve()
    assert not module.download and module.keep_difficult and module.num_workers == 4
    assert module.declared_image_shape == module.image_shape == (3, 320, 320)
    small = compose_config([*overrides, "data.image_size=16", "data.num_workers=0"], tmp_path)
    module = instantiate(small.data)
    module.setup()  # the declared num_classes and image_shape match
    images, targets = next(iter(module.val_dataloader()))
    assert images.shape == (2, 3, 16, 16) and torch.equal(targets[0]["boxes"], BOXES_16)
