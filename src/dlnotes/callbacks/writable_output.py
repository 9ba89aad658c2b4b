"""Hydra callback: stop with one line when the run (or sweep) directory cannot be written.

Hydra creates the directory itself, before `train.py`'s code runs, and a failure there shows
as a traceback through Hydra's internals. Hydra turns a callback's exceptions into warnings,
so this one prints `error: ...` and exits with status 1 itself, as `run_cli` does.
"""

import sys
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from dlnotes.utils.errors import ConfigError
from dlnotes.utils.writable import check_writable


def _check(config: DictConfig, key: str) -> None:
    directory = Path(str(OmegaConf.select(config, key)))
    try:
        check_writable(directory, f"{key} (or paths.log_dir)", keep=False)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


class WritableOutputDir(Callback):
    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        _check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        _check(config, "hydra.sweep.dir")
