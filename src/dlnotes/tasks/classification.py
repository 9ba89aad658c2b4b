"""Image classification: any net from `nets/` that maps images to class logits."""

from collections.abc import Callable

import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from dlnotes.loggers.images import figure_to_array, log_image
from dlnotes.tasks.base import SupervisedTask


def drop_second_copy_of_the_net(module, state_dict, prefix, *args) -> None:
    """Checkpoints written before compile was done in place held the net twice, as `net.*`
    and `forward_net.*` (the same tensors); they load, the second copy left out."""
    for key in [key for key in state_dict if key.startswith(f"{prefix}forward_net.")]:
        del state_dict[key]


class ClassificationTask(SupervisedTask):
    """Cross-entropy training with accuracy (and top-5 for ≥ 10 classes) as torchmetrics.

    A training step reads nothing back from the device: its loss is logged without
    `prog_bar` (Lightning turns every on-step progress-bar value into a Python number after
    each step, which on a GPU waits for the step to finish; `callbacks.progress_bar` shows it
    every `trainer.log_every_n_steps` steps instead), and the training accuracies are updated
    on the device and logged once, at the end of the epoch.
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
        super().__init__(net, optimizer, scheduler, monitor, mode, channels_last, compile)
        self.register_load_state_dict_pre_hook(drop_second_copy_of_the_net)
        # synced by Lightning when logged (see on_train_epoch_end), not by torchmetrics
        self.train_metrics = self._metrics(num_classes, "train/", sync_on_compute=False)
        self.val_metrics = self._metrics(num_classes, "val/")
        self.test_metrics = self._metrics(num_classes, "test/")
        self.confusion = MulticlassConfusionMatrix(num_classes)

    @staticmethod
    def _metrics(num_classes: int, prefix: str, **options) -> MetricCollection:
        metrics = {"acc": MulticlassAccuracy(num_classes, average="micro", **options)}
        if num_classes >= 10:
            metrics["acc_top5"] = MulticlassAccuracy(
                num_classes, top_k=5, average="micro", **options
            )
        return MetricCollection(metrics, prefix=prefix)

    def _step(self, batch, metrics: MetricCollection, stage: str):
        images, labels = batch
        logits = self(images)
        # notes: softmax + cross-entropy in one numerically stable call on the logits
        loss = F.cross_entropy(logits, labels)
        metrics.update(logits, labels)
        training = stage == "train"
        self.log(
            f"{stage}/loss",
            loss,
            on_step=training,
            on_epoch=True,
            prog_bar=not training,
            sync_dist=True,
        )  # sync_dist: under DDP the epoch mean is over all ranks
        if not training:
            self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=True)
        return loss, logits

    def training_step(self, batch, batch_idx):
        return self._step(batch, self.train_metrics, "train")[0]

    def on_train_epoch_end(self):
        # the epoch's training accuracies, averaged over the ranks (each sees as many images) by
        # Lightning when it computes the epoch's metrics: a collective here, in torchmetrics'
        # compute, would meet rank 0's progress bar syncing the epoch loss first, and hang
        self.log_dict(self.train_metrics.compute(), sync_dist=True)
        self.train_metrics.reset()

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
