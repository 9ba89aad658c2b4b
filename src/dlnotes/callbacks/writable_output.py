"""Hydra callback: stop with one line when the run (or sweep) directory cannot be written.

Hydra creates the directory itself, before `train.py`'s code runs, and a failure there shows
as a traceback through Hydra's internals. Raised as a `CompactHydraException`, the reason is
printed alone, and the command exits with status 1.
"""

from pathlib import Path

from hydra.errors import CompactHydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from dlnotes.utils.errors import ConfigError
from dlnotes.utils.writable import check_writable


def _check(config: DictConfig, key: str) -> None:
    directory = Path(str(OmegaConf.select(config, key)))
    try:
        check_writable(directory, f"{key} (or paths.log_dir)")
    except ConfigError as error:
        raise CompactHydraException(f"error: {error}") from None


class WritableOutputDir(Callback):
    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        _check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        _check(config, "hydra.sweep.dir")
