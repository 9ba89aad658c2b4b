"""python train.py [group=option ...] [key=value ...]    e.g. python train.py model=resnet50"""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from dlnotes.config.paths import set_repo_root

set_repo_root(Path(__file__).parent)  # conf/paths reads it (DLNOTES_ROOT)


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from dlnotes.run.cli import run_cli
    from dlnotes.train import train

    monitored, _ = run_cli(train, cfg)
    return monitored  # what a sweeper (Optuna) optimizes


if __name__ == "__main__":
    main()
