"""What the supervised tasks (classification, segmentation, detection) share.

The net arrives built from config (`model.net`), the optimizer and scheduler as partials
(`model.optimizer`, `model.scheduler`); `monitor`/`mode` name the metric that checkpoints,
early stopping and sweeps follow; `compile` puts the net through torch.compile. The
constructor's other arguments are saved as the task's hyperparameters (the net and the partials
are config, kept in the checkpoint's saved config).
"""

import inspect
from collections.abc import Callable

import lightning as L
import torch
from torch import nn

from dlnotes.nets.memory_format import channels_last_batch, to_channels_last
from dlnotes.tasks.compiled import compile_in_place
from dlnotes.tasks.optim import build_optimizers


class SupervisedTask(L.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable,
        scheduler: Callable | None,
        monitor: str,
        mode: str,
        channels_last: bool = False,
        compile: bool = False,
    ):
        super().__init__()
        # the subclass's own arguments, as its constructor received them
        self.save_hyperparameters(
            ignore=["net", "optimizer", "scheduler"],
            logger=False,
            frame=inspect.currentframe().f_back,
        )
        self.channels_last = channels_last
        self.net = to_channels_last(net) if channels_last else net
        if compile:
            compile_in_place(self.net)
        self.optimizer, self.scheduler = optimizer, scheduler
        self.monitor, self.mode = monitor, mode

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            images = channels_last_batch(images)
        return self.net(images)

    def configure_optimizers(self):
        return build_optimizers(self.parameters(), self.optimizer, self.scheduler, self.monitor)
