"""python sample.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt num_samples=64"""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

import dlnotes  # noqa: F401  (registers the config resolvers)

os.environ.setdefault("DLNOTES_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    from dlnotes.sample import sample
    from dlnotes.utils.cli import run_cli

    run_cli(sample, cfg)


if __name__ == "__main__":
    main()
