"""Random-number generator states in each checkpoint, so a resumed run continues the same
random sequence (dropout masks, noise) as a run that was never stopped.

Lightning restores weights, optimizers, schedulers and loop counters; RNG states it leaves to
the user. They are stored as tensors and plain lists: checkpoints still load with
`weights_only=True`.
"""

import random

import numpy as np
import torch
from lightning.pytorch import Callback

CHECKPOINT_KEY = "dlnotes_rng_states"


def collect_rng_states() -> dict:
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    states = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, keys.tolist(), position, has_gauss, cached_gaussian],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    kind, keys, position, has_gauss, cached_gaussian = states["numpy"]
    np.random.set_state(
        (kind, np.array(keys, dtype=np.uint32), position, has_gauss, cached_gaussian)
    )
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class RngStateInCheckpoint(Callback):
    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = collect_rng_states()

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        if CHECKPOINT_KEY in checkpoint:  # older checkpoints resume without them
            restore_rng_states(checkpoint[CHECKPOINT_KEY])
