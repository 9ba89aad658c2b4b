"""Semantic segmentation: any net from `nets/` that maps images to per-pixel class logits.

notes: mIoU, the standard metric of semantic segmentation — for each class the intersection
of predicted and true pixels over their union, IoU = TP / (TP + FP + FN), averaged over the
classes; here computed once over the whole evaluation set (`metrics/miou.py`).
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from dlnotes.loggers.images import grid_image, log_image
from dlnotes.metrics.miou import MeanIoU
from dlnotes.tasks.base import SupervisedTask
from dlnotes.tasks.class_names import class_names
from dlnotes.tasks.drawing import color_masks, overlay


class SegmentationTask(SupervisedTask):
    """Per-pixel cross-entropy (ignored pixels left out) with dataset-level mIoU."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable,
        num_classes: int,
        scheduler: Callable | None = None,
        ignore_index: int = 255,
        class_names: list[str] | None = None,
        monitor: str = "val/miou",
        mode: str = "max",
        num_log_images: int = 8,
        channels_last: bool = False,
        compile: bool = False,
    ):
        super().__init__(net, optimizer, scheduler, monitor, mode, channels_last, compile)
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.class_names = list(class_names) if class_names else None
        self.num_log_images = num_log_images
        self.val_miou = MeanIoU(num_classes, ignore_index=ignore_index)
        self.test_miou = MeanIoU(num_classes, ignore_index=ignore_index)
        self.shown_batch: tuple[torch.Tensor, ...] | None = None  # images, masks, logits

    def _step(self, batch, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = batch
        logits = self(images)
        loss = F.cross_entropy(logits, masks, ignore_index=self.ignore_index)
        on_step = stage == "train"
        self.log(
            f"{stage}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=True, sync_dist=True
        )
        return loss, logits

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")[0]

    def validation_step(self, batch, batch_idx):
        _, logits = self._step(batch, "val")
        self.val_miou.update(logits, batch[1])
        if batch_idx == 0:
            n = self.num_log_images
            self.shown_batch = (batch[0][:n], batch[1][:n], logits[:n])

    def test_step(self, batch, batch_idx):
        _, logits = self._step(batch, "test")
        self.test_miou.update(logits, batch[1])

    def _log_miou(self, metric: MeanIoU, stage: str) -> torch.Tensor:
        values = metric.compute()
        self.log(f"{stage}/miou", values["miou"], prog_bar=True)
        metric.reset()
        return values["iou_per_class"]

    def on_validation_epoch_end(self):
        self._log_miou(self.val_miou, "val")
        if self.shown_batch is not None and not self.trainer.sanity_checking:
            self.log_predictions(*self.shown_batch)

    def on_test_epoch_end(self):
        per_class = self._log_miou(self.test_miou, "test")
        # per-class IoU (nan: the class is in neither the test masks nor the predictions)
        names = self.names()
        self.log_dict({f"test/iou/{name}": iou for name, iou in zip(names, per_class, strict=True)})

    def names(self) -> list[str]:
        return class_names(self.class_names, self.trainer, self.num_classes)

    @torch.no_grad()
    def log_predictions(self, images: torch.Tensor, masks: torch.Tensor, logits: torch.Tensor):
        """One row per image: the image, its true mask over it, the predicted mask over it."""
        images = images.float()
        true = overlay(images, color_masks(masks, self.num_classes, self.ignore_index))
        predicted = overlay(
            images, color_masks(logits.argmax(1), self.num_classes, self.ignore_index)
        )
        rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        rows = torch.stack([rgb, true, predicted], dim=1).flatten(0, 1)  # image, true, predicted
        picture = grid_image(rows.clamp(0, 1).cpu(), nrow=3)
        log_image(
            self.loggers,
            "val/predictions",
            picture,
            self.global_step,
            self.trainer.default_root_dir,
        )
