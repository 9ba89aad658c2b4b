"""Find out before training that the run can write its outputs, not at the first checkpoint."""

import tempfile
from pathlib import Path

from omegaconf import DictConfig

from dlnotes.utils.errors import ConfigError


def check_writable(directory: str | Path, setting: str, keep: bool = True) -> None:
    """Create `directory` if needed and write a file in it; `setting` is the option to change.
    With `keep=False` the folders this check created are removed again (Hydra creates a
    sweep directory only when its first job starts)."""
    directory = Path(directory)
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
        if not keep:
            for folder in missing:  # deepest first, each one empty again
                folder.rmdir()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(
            f"cannot write to {directory} ({reason}): set {setting} to a folder you can write to"
        ) from None


def check_output_dirs(cfg: DictConfig) -> None:
    """The run directory and every callback's `dirpath` (checkpoints) can be written."""
    check_writable(cfg.paths.output_dir, "hydra.run.dir (or paths.log_dir)")
    for name, entry in (cfg.get("callbacks") or {}).items():
        dirpath = entry.get("dirpath") if isinstance(entry, DictConfig) else None
        if dirpath:
            check_writable(dirpath, f"callbacks.{name}.dirpath")
