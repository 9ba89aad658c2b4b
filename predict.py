"""python predict.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt input=<image or dir>"""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from dlnotes.config.paths import set_repo_root

set_repo_root(Path(__file__).parent)  # conf/paths reads it (DLNOTES_ROOT)


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    from dlnotes.predict import predict
    from dlnotes.run.cli import run_cli

    run_cli(predict, cfg)


if __name__ == "__main__":
    main()
