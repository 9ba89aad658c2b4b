"""Find out before training that the run can write its outputs, not at the first checkpoint."""

import sys
import tempfile
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from dlnotes.errors import ConfigError


def check_writable(directory: str | Path, setting: str, keep: bool = True) -> None:
    """Create `directory` if needed and write a file in it; `setting` is the option to change.
    With `keep=False` the folders this check created are removed again (Hydra creates a
    sweep directory only when its first job starts), unless another process (a rank of the same
    torchrun or srun job checking the same folder) has meanwhile put something in them."""
    directory = Path(directory)
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    try:
        _write_a_file_in(directory)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(
            f"cannot write to {directory} ({reason}): set {setting} to a folder you can write to"
        ) from None
    if not keep:
        for folder in missing:  # deepest first
            try:
                folder.rmdir()
            except OSError:  # not empty, or gone: another process's, leave it
                break


def _write_a_file_in(directory: Path, tries: int = 3) -> None:
    """mkdir + a temporary file; again if another process's check removed the folder between
    the two (ranks of one job start together and check the same folder)."""
    for attempt in range(tries):
        directory.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.TemporaryFile(dir=directory):
                return
        except FileNotFoundError:
            if attempt == tries - 1:
                raise


def check_output_dirs(cfg: DictConfig) -> None:
    """The run directory and every callback's `dirpath` (checkpoints) can be written."""
    check_writable(cfg.paths.output_dir, "hydra.run.dir (or paths.log_dir)")
    for name, entry in (cfg.get("callbacks") or {}).items():
        dirpath = entry.get("dirpath") if isinstance(entry, DictConfig) else None
        if dirpath:
            check_writable(dirpath, f"callbacks.{name}.dirpath")


def _check(config: DictConfig, key: str) -> None:
    directory = Path(str(OmegaConf.select(config, key)))
    try:
        check_writable(directory, f"{key} (or paths.log_dir)", keep=False)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


class WritableOutputDir(Callback):
    """Hydra callback: stop with one line when the run (or sweep) directory cannot be written.

    Hydra creates the directory itself, before `train.py`'s code runs, and a failure there
    shows as a traceback through Hydra's internals. Hydra turns a callback's exceptions into
    warnings, so this one prints `error: ...` and exits with status 1 itself, as `run_cli`
    does."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        _check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        _check(config, "hydra.sweep.dir")
