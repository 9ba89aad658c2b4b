"""DDP inside a Hydra job, sweeps included: this job starts its own ranks.

Lightning's `ddp` would start ranks 1…N-1 by running the command line again. Under `-m` that
command line is the whole sweep: each rank would run the sweep again, into new directories,
and a rank that fails would make Lightning kill the sweep's process. So the job starts them
itself, the way Lightning documents for processes launched by the user (`LOCAL_RANK`,
`MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE`, `NODE_RANK` set): each runs this job's overrides
in RUN mode, in this job's directory. When the job ends, finished or failed, its ranks are
gone, and no launcher environment or process group is left for the next job.
"""

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.fabric.plugins.environments.lightning import find_free_network_port

log = logging.getLogger(__name__)

LAUNCH_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
CONFIG_FLAGS = ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd")
STOP_TIMEOUT_S = 30  # after the job, ranks > 0 have this long to finish before they are killed


def config_flags(argv: list[str]) -> list[str]:
    """The flags that choose the primary config (`-cn NAME`, `--config-path=DIR`, ...)."""
    flags = []
    for i, arg in enumerate(argv):
        if arg in CONFIG_FLAGS and i + 1 < len(argv):
            flags += [arg, argv[i + 1]]
        elif "=" in arg and arg.split("=", 1)[0] in CONFIG_FLAGS:
            flags.append(arg)
    return flags


def child_argv(argv: list[str], job_overrides: list[str]) -> list[str]:
    """The command line of a rank > 0: this script, its config flags, the job's overrides."""
    return [argv[0], *config_flags(argv[1:]), *job_overrides, "hydra.mode=RUN"]


def _script(argv0: str, cwd: str) -> list[str]:
    import __main__

    spec = getattr(__main__, "__spec__", None)
    if spec is not None:  # python -m module
        return [sys.executable, "-m", spec.name]
    return [sys.executable, str(Path(cwd, argv0).resolve())]


def starts_ranks(trainer: L.Trainer) -> bool:
    """Whether this process must start the other ranks (DDP launched as `python train.py`)."""
    from lightning.pytorch.strategies.launchers.subprocess_script import (
        _SubprocessScriptLauncher,
    )

    environment = getattr(trainer.strategy, "cluster_environment", None)
    return (
        HydraConfig.initialized()
        and isinstance(trainer.strategy.launcher, _SubprocessScriptLauncher)
        and isinstance(environment, LightningEnvironment)
        and not environment.creates_processes_externally
        and trainer.num_devices > 1
    )


def _start_ranks(trainer: L.Trainer) -> list[subprocess.Popen]:
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    argv = child_argv(sys.argv, list(hydra_cfg.overrides.task))
    command = _script(argv[0], hydra_cfg.runtime.cwd) + argv[1:]
    command += [f'hydra.run.dir="{run_dir}"', "hydra.output_subdir=null"]
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(find_free_network_port()))
    os.environ.setdefault("NODE_RANK", "0")
    os.environ["WORLD_SIZE"] = str(trainer.num_devices * trainer.num_nodes)
    os.environ["LOCAL_RANK"] = "0"  # Lightning now starts no process itself
    children = []
    for local_rank in range(1, trainer.num_devices):
        env = os.environ | {"LOCAL_RANK": str(local_rank)}
        children.append(subprocess.Popen(command, env=env, cwd=hydra_cfg.runtime.cwd))
    return children


def _stop(children: list[subprocess.Popen], failed: bool) -> None:
    """Wait for the ranks to finish (a failed job: stop them), then kill what is left."""
    for child in children:
        if failed:
            child.terminate()
        try:
            child.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning(f"rank process {child.pid} did not finish: killing it")
            child.kill()
            child.wait()


@contextmanager
def ddp_job(trainer: L.Trainer) -> Iterator[None]:
    """Within: the trainer's other DDP ranks run this Hydra job (this process is rank 0)."""
    if not starts_ranks(trainer):
        yield
        return
    saved_env = {key: os.environ.get(key) for key in LAUNCH_ENV}
    children, failed = _start_ranks(trainer), True
    try:
        yield
        failed = False
    finally:
        _stop(children, failed)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
