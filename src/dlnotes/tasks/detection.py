"""Object detection: any detector with torchvision's API (Faster R-CNN, R-CNN, Fast R-CNN).

A batch is `(images, targets)`: images (N, C, H, W) floats in [0, 1], targets a list of N dicts
{"boxes": (K, 4) xyxy pixels, "labels": (K,) in 1..num_classes-1}, 0 being the background. The
net returns a dict of losses in train mode and a list of {"boxes", "labels", "scores"} in eval.

notes: mAP, the standard metric of detection — a detection is right when its IoU with an
unmatched true box of its class is ≥ a threshold; AP is the area under the class's
precision-recall curve (COCO: precision interpolated at 101 recall points), mAP its mean over
the classes. map50 uses IoU 0.5 (Pascal VOC's), map averages IoU 0.5, 0.55, ..., 0.95 (COCO's).
"""

from collections.abc import Callable

import torch
from torch import nn
from torchmetrics.detection import MeanAveragePrecision

from dlnotes.loggers.images import grid_image, log_image
from dlnotes.tasks.base import SupervisedTask
from dlnotes.tasks.class_names import class_names
from dlnotes.tasks.compiled import refuse_compile
from dlnotes.tasks.drawing import draw_detections, rgb_uint8_batch


def mean_average_precision() -> MeanAveragePrecision:
    """COCO mAP on xyxy pixel boxes (backend: pycocotools, torchmetrics' default)."""
    return MeanAveragePrecision(box_format="xyxy", iou_type="bbox")


def boxes_and_labels(targets: list[dict]) -> list[dict]:
    """Only what the metric reads: targets may carry more (masks, image ids)."""
    return [{"boxes": t["boxes"], "labels": t["labels"]} for t in targets]


class DetectionTask(SupervisedTask):
    """Sum of the detector's losses for training, COCO mAP (map50, map) for evaluation."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable,
        num_classes: int,
        scheduler: Callable | None = None,
        monitor: str = "val/map50",
        mode: str = "max",
        class_names: list[str] | None = None,
        num_log_images: int = 8,
        score_threshold: float = 0.5,
        compile: bool = False,
    ):
        if compile:
            refuse_compile(
                "the R-CNN detectors",
                "they take lists of images of different sizes and run data-dependent proposal "
                "code (sampling, NMS), which torch.compile splits into many small graphs",
            )
        super().__init__(net, optimizer, scheduler, monitor, mode)
        self.num_classes, self.num_log_images = num_classes, num_log_images
        self.class_names = list(class_names) if class_names else None
        self.score_threshold = score_threshold
        self.val_map = mean_average_precision()
        self.test_map = mean_average_precision()
        self.shown_batch: tuple | None = None  # images, targets, predictions

    def forward(self, images: torch.Tensor, targets: list[dict] | None = None):
        """Train mode with targets: dict of losses; eval mode: one dict of detections an image."""
        return self.net(list(images), targets)

    def training_step(self, batch, batch_idx):
        images, targets = batch
        losses = self(images, targets)
        # notes: Faster R-CNN trains its four losses jointly (RPN objectness + box, head class
        # + box), "approximate joint training": one sum, one backward pass
        loss = sum(losses.values())
        size = len(images)
        for name, value in losses.items():
            self.log(f"train/{name}", value, on_epoch=True, sync_dist=True, batch_size=size)
        self.log("train/loss", loss, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=size)
        return loss

    def _evaluate(self, batch, metric: MeanAveragePrecision) -> list[dict]:
        images, targets = batch
        predictions = self(images)
        metric.update(predictions, boxes_and_labels(targets))
        return predictions

    def validation_step(self, batch, batch_idx):
        predictions = self._evaluate(batch, self.val_map)
        if batch_idx == 0:
            n = self.num_log_images
            self.shown_batch = (batch[0][:n], batch[1][:n], predictions[:n])

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, self.test_map)

    def _log_map(self, metric: MeanAveragePrecision, stage: str) -> None:
        values = metric.compute()  # already gathered over all ranks by torchmetrics
        self.log(f"{stage}/map50", values["map_50"], prog_bar=True)
        self.log(f"{stage}/map", values["map"])
        metric.reset()

    def on_validation_epoch_end(self):
        self._log_map(self.val_map, "val")
        if self.shown_batch is not None and not self.trainer.sanity_checking:
            self.log_predictions(*self.shown_batch)
        self.shown_batch = None

    def on_test_epoch_end(self):
        self._log_map(self.test_map, "test")

    def names(self) -> list[str]:
        return class_names(self.class_names, self.trainer, self.num_classes)

    @torch.no_grad()
    def log_predictions(self, images: torch.Tensor, targets: list[dict], predictions: list[dict]):
        """The first validation images, true boxes green, predictions (score ≥ 0.5) red."""
        scale = max(1, 256 // images.shape[-1])  # 64×64 scenes drawn 4× so captions fit
        names = self.names()
        drawn = [
            draw_detections(image, target, prediction, names, scale, self.score_threshold)
            for image, target, prediction in zip(
                rgb_uint8_batch(images, scale), targets, predictions, strict=True
            )
        ]
        picture = grid_image(torch.stack(drawn).float() / 255, nrow=4)
        log_image(
            self.loggers, "val/detections", picture, self.global_step, self.trainer.default_root_dir
        )

    def check_data(self, image_shape: tuple[int, int, int]) -> None:
        """Raise ValueError (one line) if the detector cannot take C×H×W images."""
        was_training = self.net.training
        self.net.eval()
        try:
            with torch.no_grad():
                output = self.net(torch.zeros(1, *image_shape))
        except RuntimeError as error:
            shown = "×".join(map(str, image_shape))
            reason = str(error).strip().splitlines()[0]
            raise ValueError(f"the detector cannot take {shown} images: {reason}") from None
        finally:
            self.net.train(was_training)
        if not (isinstance(output, list) and {"boxes", "labels", "scores"} <= set(output[0])):
            raise ValueError("the net does not return detections (boxes, labels, scores) in eval")
