"""DDP inside a Hydra job, sweeps included.

Lightning's `ddp` starts ranks 1…N-1 by running the command line (`sys.argv`) again, adding
`hydra.run.dir=<hydra.run.dir>`. Under `-m` that command line is the whole sweep, and
`hydra.run.dir` is not the job's directory: each child would run the sweep again, into new
directories. While a job trains, `job_command_line()` makes the command line this job's own
overrides (in RUN mode) and `hydra.run.dir` the job's output directory; afterwards it leaves
no launcher environment or process group behind for the next job of the sweep.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict, read_write

# set by Lightning's launcher in the rank-0 process; a later job must not inherit them
LAUNCHER_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
CONFIG_FLAGS = ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd")


def config_flags(argv: list[str]) -> list[str]:
    """The flags that choose the primary config (`-cn NAME`, `--config-path=DIR`, ...)."""
    flags = []
    for i, arg in enumerate(argv):
        if arg in CONFIG_FLAGS and i + 1 < len(argv):
            flags += [arg, argv[i + 1]]
        elif arg.split("=", 1)[0] in CONFIG_FLAGS and "=" in arg:
            flags.append(arg)
    return flags


def child_argv(argv: list[str], job_overrides: list[str]) -> list[str]:
    """The command a rank > 0 runs: this script, its config flags, the job's overrides."""
    return [argv[0], *config_flags(argv[1:]), *job_overrides, "hydra.mode=RUN"]


@contextmanager
def job_command_line() -> Iterator[None]:
    """Within: rank > 0 processes that Lightning starts run this job, in this job's directory."""
    if not HydraConfig.initialized():  # called from Python, not from a command line
        yield
        return
    hydra_cfg = HydraConfig.get()
    saved_argv, saved_env = sys.argv, {key: os.environ.get(key) for key in LAUNCHER_ENV}
    run = HydraConfig.instance().cfg.hydra.run
    saved_run_dir = run.dir
    sys.argv = child_argv(sys.argv, list(hydra_cfg.overrides.task))
    _set_run_dir(run, hydra_cfg.runtime.output_dir)
    try:
        yield
    finally:
        sys.argv = saved_argv
        _set_run_dir(run, saved_run_dir)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def _set_run_dir(run, path: str) -> None:
    with read_write(run), open_dict(run):
        run.dir = path
