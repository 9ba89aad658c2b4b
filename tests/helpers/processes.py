"""The environment of the processes tests start or pretend to be in."""

import os

from helpers.paths import ROOT


def pretend_slurm_job(monkeypatch, job_id: str) -> None:
    """The environment SLURM gives a one-task batch job, as Lightning detects it."""
    for key, value in {
        "SLURM_NTASKS": "1",
        "SLURM_JOB_NAME": "dlnotes",
        "SLURM_JOB_ID": job_id,
    }.items():
        monkeypatch.setenv(key, value)


def subprocess_env() -> dict[str, str]:
    """The environment for `python train.py` subprocesses: tests/ importable (probe
    callbacks), wandb offline, and a wandb service of their own: an in-process run before
    leaves WANDB_SERVICE set, and a killed child's run would stay open in that service."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    return env | {"PYTHONPATH": str(ROOT / "tests"), "WANDB_MODE": "offline"}


def train_in_process(*args: str) -> int:
    """`python train.py ARGS` in this process (Hydra's command line, without the ~5 s of
    imports a subprocess pays); returns the exit code. Sweeps on the basic launcher run their
    jobs here too."""
    import runpy
    import sys

    from helpers.paths import ROOT

    argv = sys.argv
    sys.argv = [str(ROOT / "train.py"), *args]
    try:
        runpy.run_path(str(ROOT / "train.py"), run_name="__main__")
    except SystemExit as stop:
        return int(stop.code or 0)
    finally:
        sys.argv = argv
    return 0
