"""A checkpoint plugin that tests put in place (`trainer.plugins=[{_target_:...}]`, tests/ on
PYTHONPATH) to hold a process in the middle of a checkpoint write, where a test kills it."""

import io
import time
from pathlib import Path

import torch

from dlnotes.checkpoints.atomic_io import AtomicCheckpointIO


class StallsReplacingLast(AtomicCheckpointIO):
    """Writes half of any checkpoint that replaces an existing last.ckpt, then waits."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        self.replacing = Path(path).name == "last.ckpt" and Path(path).exists()
        super().save_checkpoint(checkpoint, path, storage_options)

    def write(self, checkpoint, file) -> None:
        if not self.replacing:
            return super().write(checkpoint, file)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        data = buffer.getvalue()
        file.write(data[: len(data) // 2])
        file.flush()
        time.sleep(120)  # killed here by the test
        file.write(data[len(data) // 2 :])
