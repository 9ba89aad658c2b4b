"""Before an Optuna sweep starts: the model must monitor a metric, the sweep's objective.

A GAN monitors val/fid only once `model.fid_features` is set; without it every trial would
return nothing to optimize. This Hydra callback stops the sweep before its first trial, with
the one-line error of the command line (Hydra turns exceptions in callbacks into warnings).
"""

import sys

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class SweepNeedsObjective(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        if not config.model.get("monitor"):
            print(
                "error: this sweep optimizes the model's monitored metric, and the model"
                " monitors none (a GAN monitors val/fid once"
                " model.fid_features=<classifier checkpoint> is set: docs/fid.md)",
                file=sys.stderr,
            )
            sys.exit(1)
