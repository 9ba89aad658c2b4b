"""python eval.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt [data=...]"""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from dlnotes.config.paths import set_repo_root

set_repo_root(Path(__file__).parent)  # conf/paths reads it (DLNOTES_ROOT)


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    from dlnotes.evaluate import evaluate
    from dlnotes.run.cli import run_cli

    run_cli(evaluate, cfg)


if __name__ == "__main__":
    main()
