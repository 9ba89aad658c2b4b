"""Load checkpoints safely: tensors and plain containers only, never arbitrary pickled code."""

import pickle
from pathlib import Path

import torch

from dlnotes.utils.errors import ConfigError


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"ckpt_path={path} does not exist: give a .ckpt file, "
            "e.g. logs/train/runs/<run>/checkpoints/last.ckpt"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(
            f"refused to load {path}: it holds pickled objects, not only weights ({reason})"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(f"{path} is not a readable checkpoint: {reason}") from None
