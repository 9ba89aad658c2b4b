"""What produced a run: the code (git commit, and whether the tree had uncommitted changes),
the command line, the versions of the packages that matter, and the devices.

Written as provenance.json into every run directory (`run/provenance.py`, a Hydra
callback) and added to the config the loggers record (`provenance`), so a number on a dashboard
can be traced back to the code and machine that made it. Secrets typed on the command line are
redacted, as in the rest of what a run writes.
"""

import functools
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

import lightning as L
import torch.distributed as dist
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from dlnotes.config.job import job_info
from dlnotes.config.paths import repo_root
from dlnotes.config.redact import REDACTED, SECRET_NAME, redact
from dlnotes.config.resolvers import process_rank

PACKAGES = {  # shown name: distribution name
    "torch": "torch",
    "lightning": "lightning",
    "hydra": "hydra-core",
    "torchmetrics": "torchmetrics",
    "wandb": "wandb",
    "torchvision": "torchvision",
}
PROVENANCE_FILE = "provenance.json"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo_root()), *args], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@functools.cache
def git_state() -> dict:
    """{"commit", "dirty"}: dirty when tracked files differ from the commit or files git does
    not ignore are untracked (null for both outside a git checkout)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


@functools.cache
def versions() -> dict:
    found = {"python": platform.python_version()}
    for shown, distribution in PACKAGES.items():
        try:
            found[shown] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            found[shown] = None
    return found


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def device_names() -> dict:
    """The CPU's name and, when PyTorch sees any, each GPU's (CUDA, or Apple's MPS)."""
    import torch

    gpus = []
    if torch.cuda.is_available():
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    elif torch.backends.mps.is_available():
        gpus = ["mps"]
    return {"cpu": cpu_name(), "cpu_count": os.cpu_count(), "gpus": gpus}


def redact_argument(argument: str) -> str:
    """`key=value` with a secret-looking key loses its value; a secret's value is hidden."""
    key, equals, _ = argument.partition("=")
    if equals and SECRET_NAME.search(key):
        return f"{key}={REDACTED}"
    return redact(argument)


def command_line() -> str:
    """How this process was started, as a shell would take it: `python train.py model=vae`,
    `python -m dlnotes.export ...`."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    program = ["-m", spec.name] if spec is not None and spec.name != "__main__" else sys.argv[:1]
    arguments = [redact_argument(argument) for argument in sys.argv[1:]]
    return shlex.join(["python", *program, *arguments])


SLURM_VARIABLES = {  # what provenance.json calls it: Slurm's environment variable
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
    "partition": "SLURM_JOB_PARTITION",
    "node_list": "SLURM_JOB_NODELIST",
    "nodes": "SLURM_JOB_NUM_NODES",
    "tasks": "SLURM_NTASKS",
    "restart_count": "SLURM_RESTART_COUNT",
}


def slurm_job() -> dict | None:
    """The Slurm job this process runs in (id, partition, its nodes, restarts), else None."""
    if "SLURM_JOB_ID" not in os.environ:
        return None
    return {key: os.environ.get(variable) for key, variable in SLURM_VARIABLES.items()}


def node_name() -> str:
    """This process's node: Slurm's name for it (several slurmd may share one host), else the
    host's name."""
    return os.environ.get("SLURMD_NODENAME") or socket.gethostname()


def provenance() -> dict:
    """Everything above, with the Hydra job's own overrides (a sweep's job differs from the
    sweep's command line), the Slurm job if any, and the time."""
    return {
        "git": git_state(),
        "command": command_line(),
        "overrides": [redact_argument(o) for o in job_info().get("overrides", [])],
        "versions": versions(),
        "devices": device_names(),
        "slurm": slurm_job(),
        "time": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def write_provenance(directory: str | Path) -> Path:
    path = Path(directory) / PROVENANCE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(provenance(), indent=2) + "\n")
    return path


class ProvenanceFile(Callback):
    """Hydra callback: provenance.json in every run directory, before the job's code runs.

    Every entry point composes `hydra: default`, which lists this callback, so train, eval,
    sample, predict, export and inspect runs (and each job of a sweep) all get one. Only rank 0
    writes it."""

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        if process_rank() == 0:
            write_provenance(config.hydra.runtime.output_dir)


class RankNodesInProvenance(L.Callback):
    """Lightning callback: once the processes have met, which node each rank runs on goes into
    provenance.json ("ranks", in rank order), written by rank 0 — the node list says where the
    job was, this says where each rank was."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.done = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self.done:  # fit and then test: the ranks are where they were
            return
        self.done = True
        nodes = [node_name()]
        if dist.is_available() and dist.is_initialized():
            nodes = [None] * dist.get_world_size()
            dist.all_gather_object(nodes, node_name())
        if trainer.is_global_zero:
            path = self.directory / PROVENANCE_FILE
            recorded = json.loads(path.read_text()) if path.is_file() else provenance()
            recorded["ranks"] = [{"rank": rank, "node": node} for rank, node in enumerate(nodes)]
            path.write_text(json.dumps(recorded, indent=2) + "\n")
