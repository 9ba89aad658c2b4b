"""Callbacks that benchmarks/gpu_suite.py adds to the `python train.py` commands it times
(`+callbacks.NAME._target_=suite_probe.X`, with benchmarks/ on PYTHONPATH). They report on
rank 0: a `SUITE_<NAME> <value>` line, or a file in the run directory."""

import time
from pathlib import Path

import lightning as L
from parity import Stopwatch
from torch import nn


def report(trainer, name: str, value) -> None:
    if trainer.global_rank == 0:
        print(f"SUITE_{name} {value}", flush=True)


class FitTime(L.Callback):
    """Seconds of training alone, from the start of the first epoch to the end of the last
    (validation and checkpoints included; start-up and the test are not), written to
    `fit_seconds.txt` in the run directory (a sweep: each job's)."""

    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        if trainer.global_rank == 0:
            seconds = time.perf_counter() - self.start
            (Path(trainer.default_root_dir) / "fit_seconds.txt").write_text(f"{seconds:.3f}\n")


class StepRate(Stopwatch):
    """Images per second of this rank between steps `warmup` and `until` (the suite's
    Stopwatch), the number of ranks, and the SyncBatchNorm layers the trained model has."""

    def __init__(self, warmup: int, until: int, seed: int = 0):
        super().__init__(seed, compare_steps=0, warmup=warmup, until=until)

    def on_train_start(self, trainer, pl_module):
        super().on_train_start(trainer, pl_module)
        synced = sum(isinstance(m, nn.SyncBatchNorm) for m in trainer.strategy.model.modules())
        report(trainer, "WORLD", trainer.world_size)
        report(trainer, "WRAPPER", type(trainer.strategy.model).__name__)
        report(trainer, "SYNC_BN", synced)

    def on_train_end(self, trainer, pl_module):
        batch = trainer.datamodule.batch_size
        images_per_s = (self.until - self.warmup) * batch / self.seconds
        report(trainer, "IMAGES_PER_S", f"{images_per_s:.3f}")
