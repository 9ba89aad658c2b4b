"""Callbacks that tests add from the command line
(`+callbacks.NAME._target_=helpers.probe_callbacks.X`, with tests/ on PYTHONPATH) to crash a
run or check its ranks."""

import os
import signal
import time

import torch
from lightning.pytorch import Callback


class SigkillAtEpoch(Callback):
    """Kill this process (no clean-up, as a crash or OOM kill would) when `epoch` starts,
    unless the run was resumed from a checkpoint."""

    def __init__(self, epoch: int = 1):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.epoch and trainer.ckpt_path is None:
            os.kill(os.getpid(), signal.SIGKILL)


class RanksRunOneJob(Callback):
    """Fail unless every rank trains with rank 0's learning rate and output directory."""

    def on_train_start(self, trainer, pl_module) -> None:
        mine = (trainer.optimizers[0].param_groups[0]["lr"], trainer.default_root_dir)
        rank_zero = trainer.strategy.broadcast(mine, src=0)
        if mine != rank_zero:
            raise RuntimeError(f"rank {trainer.global_rank} runs {mine}, rank 0 runs {rank_zero}")


class SignalAtStep(Callback):
    """Send this process `signal_name` after training step `step`, as `kill` or Ctrl-C would,
    unless the run was resumed from a checkpoint."""

    def __init__(self, step: int, signal_name: str = "SIGTERM"):
        self.step, self.signal = step, signal.Signals[signal_name]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step and trainer.ckpt_path is None:
            os.kill(os.getpid(), self.signal)


class PoisonWeightsAtEpoch(Callback):
    """Set every weight to nan when `epoch` starts: the next loss is nan."""

    def __init__(self, epoch: int = 1):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.epoch:
            for parameter in pl_module.parameters():
                parameter.data.fill_(float("nan"))


class RecordLastCheckpoint(Callback):
    """Note, as each epoch starts, which epoch the run directory's last.ckpt holds."""

    def __init__(self, path: str):
        self.path, self.epoch_in_last = path, {}

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if os.path.exists(self.path):
            checkpoint = torch.load(self.path, map_location="cpu", weights_only=True)
            self.epoch_in_last[trainer.current_epoch] = checkpoint["epoch"]


class PauseAtEpoch(Callback):
    """As `epoch` starts (in a run not resumed from a checkpoint), touch `marker` and wait up
    to `seconds`, so that a test can requeue, signal or kill the job meanwhile."""

    def __init__(self, marker: str, epoch: int = 1, seconds: float = 300):
        self.marker, self.epoch, self.seconds = marker, epoch, seconds

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.epoch and trainer.ckpt_path is None:
            open(self.marker, "w").close()
            deadline = time.monotonic() + self.seconds
            while time.monotonic() < deadline:
                time.sleep(0.2)
