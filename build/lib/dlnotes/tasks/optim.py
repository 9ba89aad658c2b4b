"""Optimizer and scheduler from config partials, in Lightning's `configure_optimizers` form."""

from collections.abc import Callable, Iterable

from torch.optim.lr_scheduler import ReduceLROnPlateau


def build_optimizers(
    params: Iterable, optimizer: Callable, scheduler: Callable | None, monitor: str
) -> dict:
    opt = optimizer(params=params)
    if scheduler is None:
        return {"optimizer": opt}
    sched = scheduler(optimizer=opt)
    config = {"scheduler": sched, "interval": "epoch"}
    if isinstance(sched, ReduceLROnPlateau):  # it steps on a metric: the model's monitor
        config["monitor"] = monitor
    return {"optimizer": opt, "lr_scheduler": config}
