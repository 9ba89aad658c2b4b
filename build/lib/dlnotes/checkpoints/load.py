"""Load checkpoints safely: tensors and plain containers only, never arbitrary pickled code."""

import pickle
from pathlib import Path

import torch
from hydra.utils import instantiate

from dlnotes.errors import ConfigError

# the run's data and model config, written by callbacks/config_in_checkpoint.py
CHECKPOINT_KEY = "dlnotes_config"


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
        reason = unpickling_reason(error)
        raise ConfigError(
            f"refused to load {path}: it holds pickled objects, not only weights ({reason})"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(f"{path} is not a readable checkpoint: {reason}") from None


def unpickling_reason(error: pickle.UnpicklingError) -> str:
    """What torch refused ("unsupported GLOBAL posix.system ..."), not its advice to retry
    without `weights_only`, which would run the code."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    refused = [line for line in lines if "GLOBAL" in line or "Unsupported" in line]
    return (refused or lines or [type(error).__name__])[0]


def saved_config(checkpoint: dict, path: str | Path, hint: str = "") -> dict:
    """The resolved data and model config `train.py` stores in each checkpoint; `hint` ends
    the error message with what to do instead."""
    saved = checkpoint.get(CHECKPOINT_KEY)
    if saved is None or "state_dict" not in checkpoint:
        raise ConfigError(f"{path} was not written by train.py (no saved config in it){hint}")
    return saved


def saved_class_names(saved: dict) -> list[str]:
    """The class names a checkpoint's saved config keeps, else its model config's, else the
    label numbers (checkpoints written before the names were kept)."""
    names = saved.get("class_names") or saved["model"].get("class_names")
    if names:
        return [str(name) for name in names]
    return [str(label) for label in range(int(saved["data"]["num_classes"]))]


def model_from_checkpoint(path: str | Path):
    """The trained LightningModule of a `train.py` checkpoint, rebuilt from its saved config."""
    checkpoint = load_checkpoint(path)
    model = instantiate(saved_config(checkpoint, path)["model"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()
