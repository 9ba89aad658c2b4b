"""python predict.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt input=<image or dir>"""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

import dlnotes  # noqa: F401  (registers the config resolvers)

os.environ.setdefault("DLNOTES_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    from dlnotes.predict import predict
    from dlnotes.utils.cli import run_cli

    run_cli(predict, cfg)


if __name__ == "__main__":
    main()
