"""python train.py [group=option ...] [key=value ...]    e.g. python train.py model=resnet50"""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

import dlnotes  # noqa: F401  (registers the config resolvers)

os.environ.setdefault("DLNOTES_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from dlnotes.train import train
    from dlnotes.utils.cli import run_cli

    monitored, _ = run_cli(train, cfg)
    return monitored  # what a sweeper (Optuna) optimizes


if __name__ == "__main__":
    main()
