"""python sample.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt num_samples=64"""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from dlnotes.config.paths import set_repo_root

set_repo_root(Path(__file__).parent)  # conf/paths reads it (DLNOTES_ROOT)


@hydra.main(version_base="1.3", config_path="conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    from dlnotes.run.cli import run_cli
    from dlnotes.sample import sample

    run_cli(sample, cfg)


if __name__ == "__main__":
    main()
