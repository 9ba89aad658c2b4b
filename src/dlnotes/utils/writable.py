"""Find out before training that the run can write its outputs, not at the first checkpoint."""

import tempfile
from pathlib import Path

from omegaconf import DictConfig

from dlnotes.utils.errors import ConfigError


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
