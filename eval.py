"""python eval.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt [data=...]"""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

import dlnotes  # noqa: F401  (registers the config resolvers)

os.environ.setdefault("DLNOTES_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    from dlnotes.evaluate import evaluate
    from dlnotes.utils.cli import run_cli

    run_cli(evaluate, cfg)


if __name__ == "__main__":
    main()
