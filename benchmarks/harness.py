"""What the benchmark scripts share: `key=value` arguments, Hydra configs, the machine."""

import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from dlnotes.config.paths import repo_root

ROOT = repo_root()
MNIST = ROOT.parent / "shared" / "data"
MNIST_OVERRIDES = ["data=mnist", f"data.data_dir={MNIST}", "data.download=false"]


def split_args(argv: list[str], defaults: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """`key=value` arguments: the benchmark's own keys (those in `defaults`), and the rest,
    which are Hydra overrides for train.py's config."""
    own, overrides = dict(defaults), []
    for arg in argv:
        key = arg.split("=", 1)[0]
        if key in defaults:
            own[key] = arg.split("=", 1)[1]
        else:
            overrides.append(arg)
    return own, overrides


def with_defaults(overrides: list[str], defaults: list[str]) -> list[str]:
    """`defaults` (Hydra overrides) for what `overrides` does not set, then `overrides`.

    A default gives way to an override of the same key; the settings of a default group option
    (`data.batch_size=64` under `data=digits`) also give way when `overrides` picks another
    option of that group, while added keys (`+trainer.limit_val_batches=0`) stay.
    """
    keys = {o.split("=", 1)[0].lstrip("+") for o in overrides}

    def gives_way(default: str) -> bool:
        key = default.split("=", 1)[0]
        group = key.split(".", 1)[0]
        return key.lstrip("+") in keys or (not key.startswith("+") and "." in key and group in keys)

    return [*(d for d in defaults if not gives_way(d)), *overrides]


def compose_train_config(overrides: list[str], output_dir: str | Path) -> DictConfig:
    """The config `python train.py OVERRIDES` would run, writing into `output_dir`."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def machine() -> str:
    import os
    import platform

    import torch

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, python "
        f"{sys.version.split()[0]}"
    )
