"""SIGTERM (preemption, `kill`, SLURM's time limit) or Ctrl-C: save a checkpoint and say how
to resume.

Lightning already catches both: on SIGTERM its signal handler sets `trainer.received_sigterm`
and the loops raise `SIGTERMException` at the next batch boundary; on Ctrl-C it stops with
"Detected KeyboardInterrupt". Either way it calls `on_exception` on every callback, on every
rank, and this one saves `checkpoints/last.ckpt` there (Lightning's `OnExceptionCheckpoint`
would also save on a diverged loss, over the last good checkpoint, and delete its file when a
run ends normally). `stopped_by_signal` then turns Lightning's exit into `TrainingInterrupted`,
whose message is the command that continues the run.

SLURM's auto-requeue is Lightning's and is left as it is: SIGUSR1 before the time limit saves
`hpc_ckpt_<n>.ckpt` and requeues the job; the SIGTERM that follows lands here.
"""

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lightning as L
from lightning.pytorch import Callback
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from dlnotes.errors import TrainingInterrupted

log = logging.getLogger(__name__)


def signal_behind(exception: BaseException) -> signal.Signals | None:
    """The signal Lightning stopped for, if `exception` is how it stops for one."""
    if isinstance(exception, SIGTERMException):
        return signal.SIGTERM
    if isinstance(exception, KeyboardInterrupt):
        return signal.SIGINT
    return None


class CheckpointOnInterrupt(Callback):
    def __init__(self, dirpath: str | Path):
        self.path = Path(dirpath) / "last.ckpt"
        self.signal: signal.Signals | None = None
        self.saved_at: tuple[int, int] | None = None  # (epoch, global step) of the save

    def on_exception(self, trainer: L.Trainer, pl_module, exception: BaseException) -> None:
        self.signal = signal_behind(exception)
        if self.signal is None or trainer.state.fn != TrainerFn.FITTING:
            return  # an error: the last good checkpoint stays as it is
        trainer.save_checkpoint(self.path)  # all ranks call it; rank 0 writes
        self.saved_at = (trainer.current_epoch, trainer.global_step)
        log.info(f"{self.signal.name}: saved {self.path}")

    def message(self, resume_command: str) -> str:
        name = self.signal.name
        if self.saved_at is None:
            return f"interrupted by {name}; continue with: {resume_command}"
        epoch, step = self.saved_at
        return (
            f"interrupted by {name} at epoch {epoch}, step {step}; saved {self.path}; "
            f"resume with: {resume_command}"
        )


@contextmanager
def stopped_by_signal(trainer: L.Trainer, resume_command: str) -> Iterator[None]:
    """Within: Lightning's exit after SIGTERM/SIGINT becomes `TrainingInterrupted`."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt):
        callback = next(
            (c for c in trainer.callbacks if isinstance(c, CheckpointOnInterrupt)), None
        )
        if callback is None or callback.signal is None:
            raise
        message = callback.message(resume_command)
        raise TrainingInterrupted(message, exit_code=128 + callback.signal) from None
