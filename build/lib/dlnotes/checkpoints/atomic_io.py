"""Checkpoints that are never half-written, as Lightning intends it: a `CheckpointIO` plugin.

Lightning's own `TorchCheckpointIO` writes through an fsspec transaction whose temporary file
lives in the system temp folder: when that is another file system, the final move is a copy,
and a kill during it truncates `last.ckpt`. Here the temporary file sits next to the target,
is synced, and is renamed over it (`os.replace`), so `ckpt_path=last` always finds a whole file.
Every trainer config uses it (`trainer.plugins`), DDP included: only rank 0 writes.
"""

from typing import Any, BinaryIO

import torch
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO

from dlnotes.checkpoints.atomic_file import replaced_atomically


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or not isinstance(get_filesystem(path), LocalFileSystem):
            # remote storage (s3://...) has its own all-or-nothing uploads
            return super().save_checkpoint(checkpoint, path, storage_options)
        with replaced_atomically(path) as file:
            self.write(checkpoint, file)

    def write(self, checkpoint: dict[str, Any], file: BinaryIO) -> None:
        torch.save(checkpoint, file)
