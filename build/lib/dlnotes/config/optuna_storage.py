"""Where an Optuna study lives: `hydra.sweeper.storage`, as optuna-dashboard reads it.

A database URL (`sqlite:///optuna.db`, `postgresql://...`) is an RDB storage; anything else is
the path of a journal file (`optuna.log`), which several processes or Slurm jobs can share on
one disk. Relative paths are made absolute once, in the sweep's process, so that trials
running elsewhere (joblib workers, Slurm jobs) open the same study.
"""

from pathlib import Path

SQLITE = "sqlite:///"


def is_database_url(spec: str) -> bool:
    return "://" in spec


def absolute_storage(spec: str, base: Path) -> str:
    """`spec` with a relative sqlite or journal path made absolute against `base`."""
    if spec.startswith(SQLITE):
        path = Path(spec.removeprefix(SQLITE))
        return SQLITE + str(path if path.is_absolute() else (base / path).resolve())
    if is_database_url(spec):
        return spec
    path = Path(spec).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def open_storage(spec: str):
    """The optuna storage `spec` names (made absolute by `absolute_storage`)."""
    import optuna  # only sweeps and their trials need it
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    if is_database_url(spec):
        return optuna.storages.RDBStorage(spec)
    Path(spec).parent.mkdir(parents=True, exist_ok=True)
    # an open-file lock works across machines sharing the disk (NFS), unlike a symlink lock
    backend = JournalFileBackend(spec, lock_obj=JournalFileOpenLock(spec))
    return optuna.storages.JournalStorage(backend)
