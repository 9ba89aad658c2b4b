"""`model=faster_rcnn`: torchvision's Faster R-CNN on our ResNet50 stages, the detection task's
losses and COCO mAP, on synthetic 64×64 gray scenes held in memory (no download)."""

import math

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader, Dataset

from dlnotes.detection.faster_rcnn import build_faster_rcnn
from dlnotes.tasks.detection import DetectionTask, mean_average_precision
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides

NUM_CLASSES = 3  # background + 2 classes
LOSSES = {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}


def small_faster_rcnn(**kwargs):
    """The config's detector with a narrow box head: the same code path, less CPU time."""
    return build_faster_rcnn(NUM_CLASSES, in_channels=1, representation_size=64, **kwargs)


def synthetic_scene(seed: int) -> tuple[torch.Tensor, dict]:
    """A black 64×64 gray image with two white squares and their boxes (classes 1 and 2)."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.zeros(1, 64, 64)
    corners = [(4, 6), (34, 30)]
    boxes = []
    for (x, y), side in zip(corners, torch.randint(16, 29, (2,), generator=generator), strict=True):
        side = int(side)
        image[:, y : y + side, x : x + side] = 1.0
        boxes.append([x, y, x + side, y + side])
    target = {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor([1, 2])}
    return image, target


def synthetic_batch(n: int = 2) -> tuple[torch.Tensor, list[dict]]:
    scenes = [synthetic_scene(seed) for seed in range(n)]
    return torch.stack([image for image, _ in scenes]), [target for _, target in scenes]


def test_faster_rcnn_trains_on_its_four_losses():
    torch.manual_seed(0)
    net = small_faster_rcnn().train()
    images, targets = synthetic_batch()
    losses = net(list(images), targets)
    assert set(losses) == LOSSES
    assert all(torch.isfinite(value) and value.ndim == 0 for value in losses.values())
    sum(losses.values()).backward()
    assert net.backbone[0][0].weight.grad is not None  # conv1 of the backbone learns too


def test_faster_rcnn_gives_boxes_labels_scores_per_image_in_eval():
    torch.manual_seed(0)
    net = small_faster_rcnn(box_score_thresh=0.0).eval()
    with torch.no_grad():
        detections = net(torch.rand(2, 1, 64, 64))  # a batch tensor works as well as a list
    assert len(detections) == 2
    for found in detections:
        k = len(found["boxes"])
        assert found["boxes"].shape == (k, 4) and found["labels"].shape == (k,)
        assert found["scores"].shape == (k,) and 0 < k <= 20
        assert ((found["labels"] >= 1) & (found["labels"] < NUM_CLASSES)).all()
        assert (found["boxes"] >= 0).all() and (found["boxes"] <= 64).all()


def test_faster_rcnn_keeps_the_images_at_their_size():
    net = small_faster_rcnn().eval()
    assert (net.transform.min_size, net.transform.max_size) == ((64,), 64)
    batched, _ = net.transform([torch.zeros(1, 64, 64)])
    assert batched.tensors.shape == (1, 1, 64, 64)  # not resized to torchvision's 800
    assert net.rpn.anchor_generator.num_anchors_per_location() == [9]
    assert net.backbone(batched.tensors).shape == (1, 512, 8, 8)  # stride 8


def test_faster_rcnn_refuses_an_unknown_backbone():
    with pytest.raises(ValueError, match="backbone"):
        build_faster_rcnn(NUM_CLASSES, backbone="vgg16")


def test_map_matches_a_hand_computed_case():
    """Two images, two classes, every box exact or disjoint (IoU 1 or 0).

    class 1: 2 true boxes (one an image). Detections by score: 0.95 a false positive (image B,
    no overlap), 0.90 exact on image A's box. Cumulative precision [0/1, 1/2], recall [0, 1/2];
    COCO makes precision non-increasing from the right → [1/2, 1/2]; at the 101 recall points
    r = 0, 0.01, ..., 1 the precision is that of the first point with recall ≥ r: 1/2 for the
    51 points r ≤ 0.5, 0 for the 50 above (image B's box is never found).
    AP(class 1) = 51 · 0.5 / 101 = 25.5 / 101 ≈ 0.25248.
    class 2: 1 true box, found exactly, first → precision 1 at every recall → AP = 101/101 = 1.
    mAP@0.5 = (25.5/101 + 1) / 2 = 126.5 / 202 ≈ 0.62624; IoU is 1 or 0, so every threshold
    0.5..0.95 gives the same AP and COCO's map equals map50.
    """
    metric = mean_average_precision()
    predictions = [
        {
            "boxes": torch.tensor([[10.0, 10, 30, 30]]),
            "scores": torch.tensor([0.90]),
            "labels": torch.tensor([1]),
        },
        {
            "boxes": torch.tensor([[40.0, 5, 60, 25], [35, 35, 60, 60]]),
            "scores": torch.tensor([0.95, 0.80]),
            "labels": torch.tensor([1, 2]),
        },
    ]
    targets = [
        {"boxes": torch.tensor([[10.0, 10, 30, 30]]), "labels": torch.tensor([1])},
        {
            "boxes": torch.tensor([[5.0, 5, 25, 25], [35, 35, 60, 60]]),
            "labels": torch.tensor([1, 2]),
        },
    ]
    metric.update(predictions, targets)
    values = metric.compute()
    expected = (25.5 / 101 + 1) / 2
    assert math.isclose(values["map_50"].item(), expected, abs_tol=1e-6)
    assert math.isclose(values["map"].item(), expected, abs_tol=1e-6)


class SceneSet(Dataset):
    def __init__(self, n: int):
        self.scenes = [synthetic_scene(seed) for seed in range(n)]

    def __len__(self):
        return len(self.scenes)

    def __getitem__(self, index):
        return self.scenes[index]


def collate(items):
    """Images stacked (all one size), targets kept as a list of dicts."""
    return torch.stack([image for image, _ in items]), [target for _, target in items]


class SceneData(L.LightningDataModule):
    """In-memory (images float in [0, 1], list of target dicts) batches for every split."""

    class_names = ["background", "square", "other square"]

    def _loader(self):
        return DataLoader(SceneSet(4), batch_size=2, collate_fn=collate)

    def train_dataloader(self):
        return self._loader()

    def val_dataloader(self):
        return self._loader()

    def test_dataloader(self):
        return self._loader()


def test_detection_task_trains_validates_and_tests_with_a_trainer(tmp_path):
    torch.manual_seed(0)
    task = DetectionTask(
        small_faster_rcnn(),
        optimizer=lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9),
        num_classes=NUM_CLASSES,
    )
    trainer = L.Trainer(
        fast_dev_run=2,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    data = SceneData()
    trainer.fit(task, datamodule=data)
    metrics = trainer.callback_metrics
    assert LOSSES | {"loss"} <= {key.removeprefix("train/") for key in metrics}
    assert 0.0 <= metrics["val/map50"] <= 1.0 and 0.0 <= metrics["val/map"] <= 1.0
    assert list((tmp_path / "images").glob("val_detections_*.png"))
    trainer.test(task, datamodule=data)
    assert 0.0 <= trainer.callback_metrics["test/map50"] <= 1.0


def test_model_config_builds_the_task_for_digit_scenes(tmp_path):
    cfg = compose_config(fast_overrides("model=faster_rcnn", "data=digit_scenes"), tmp_path)
    task = instantiate(cfg.model)
    assert isinstance(task, DetectionTask) and task.monitor == "val/map50"
    assert task.net.roi_heads.box_predictor.cls_score.out_features == 11
    task.check_data((1, 64, 64))  # the eval-mode forward pass train.py tries first
    with pytest.raises(ValueError, match="3×64×64"):
        task.check_data((3, 64, 64))


@pytest.mark.parametrize("model", ["rcnn", "fast_rcnn"])
def test_rcnn_and_fast_rcnn_train_through_train_py_on_digit_scenes(model, tmp_path):
    overrides = fast_overrides(
        f"model={model}",
        "data=digit_scenes_detection",
        "data.train_size=16",
        "data.val_size=8",
        "data.test_size=8",
        "debug=fdr",
    )
    _, objects = train(compose_config(overrides, tmp_path))
    metrics = objects["metrics"]
    assert {"train/loss_classifier", "train/loss_box_reg", "test/map50", "test/map"} <= set(metrics)
    assert 0.0 <= metrics["test/map50"] <= 1.0
