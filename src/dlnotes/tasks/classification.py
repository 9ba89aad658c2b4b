"""Image classification: any net from `nets/` that maps images to class logits."""

from collections.abc import Callable

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from dlnotes.tasks.optim import build_optimizers
from dlnotes.utils.images import figure_to_array, log_image


class ClassificationTask(L.LightningModule):
    """Cross-entropy training with accuracy (and top-5 for ≥ 10 classes) as torchmetrics.

    The net arrives built from config; the optimizer and scheduler arrive as partials.
    `monitor`/`mode` name the metric that checkpoints, early stopping and sweeps follow.
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable,
        num_classes: int,
        scheduler: Callable | None = None,
        monitor: str = "val/acc",
        mode: str = "max",
        channels_last: bool = False,
        compile: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.net = net
        self.optimizer, self.scheduler = optimizer, scheduler
        self.monitor, self.mode = monitor, mode
        self.channels_last = channels_last
        self.train_metrics = self._metrics(num_classes, "train/")
        self.val_metrics = self._metrics(num_classes, "val/")
        self.test_metrics = self._metrics(num_classes, "test/")
        self.confusion = MulticlassConfusionMatrix(num_classes)
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.forward_net = torch.compile(self.net) if compile else self.net

    @staticmethod
    def _metrics(num_classes: int, prefix: str) -> MetricCollection:
        metrics = {"acc": MulticlassAccuracy(num_classes, average="micro")}
        if num_classes >= 10:
            metrics["acc_top5"] = MulticlassAccuracy(num_classes, top_k=5, average="micro")
        return MetricCollection(metrics, prefix=prefix)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self.forward_net(images)

    def _step(self, batch, metrics: MetricCollection, stage: str):
        images, labels = batch
        logits = self(images)
        # notes: softmax + cross-entropy in one numerically stable call on the logits
        loss = F.cross_entropy(logits, labels)
        metrics.update(logits, labels)
        on_step = stage == "train"
        self.log(
            f"{stage}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=True, sync_dist=True
        )  # sync_dist: under DDP the epoch mean is over all ranks
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage != "train")
        return loss, logits

    def training_step(self, batch, batch_idx):
        return self._step(batch, self.train_metrics, "train")[0]

    def validation_step(self, batch, batch_idx):
        self._step(batch, self.val_metrics, "val")

    def test_step(self, batch, batch_idx):
        _, logits = self._step(batch, self.test_metrics, "test")
        self.confusion.update(logits, batch[1])

    def on_test_epoch_start(self):
        self.confusion.reset()

    def on_test_epoch_end(self):
        # computed over all batches (and all ranks); numbers in the cells only while readable
        figure, _ = self.confusion.plot(add_text=self.confusion.num_classes <= 20)
        image = figure_to_array(figure)
        log_dir = self.trainer.default_root_dir
        log_image(self.loggers, "test/confusion_matrix", image, self.global_step, log_dir)

    def configure_optimizers(self):
        return build_optimizers(self.parameters(), self.optimizer, self.scheduler, self.monitor)
