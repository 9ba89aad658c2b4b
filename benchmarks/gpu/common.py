"""What the GPU suite's sections share; it measures nothing itself: how big each measurement
is (`Sizes`, and `DRY`, the dry run's tiny sizes), the run (`Run`: where it trains, the data set
its runs share, the figures only a GPU has), GPU memory (freeing it, the peak inside a block),
train.py's overrides for a run on random images in memory, and `Command`, a `python train.py`
command started in its own directory and timed whole, per job and in training alone."""

import contextlib
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from harness import ROOT
from omegaconf import OmegaConf

from dlnotes.errors import one_line
from dlnotes.run.build import build_datamodule


@dataclass
class Sizes:
    """How big each measurement is: the GPU run's, or the dry run's tiny ones."""

    resnet_model: str = "resnet50"
    resnet_shape: str = "[3,224,224]"
    layout_models: tuple = ("resnet50", "nin")
    nin_shape: str = "[3,32,32]"
    warmup: int = 10
    steps: int = 30
    nin_warmup: int = 20
    nin_steps: int = 200
    profile_steps: int = 20
    ddp_batch: int = 256
    ddp_steps: int = 50
    data_batches: dict = field(default_factory=lambda: {"mnist": 128, "synthetic": 512})
    data_steps: int = 100
    nin_epochs: int = 5
    # the dry run's extra overrides for the train.py commands (a couple of batches) and for
    # the throughput runs (no checkpoint written after the timed steps, no FLOP count before)
    command_limits: tuple = ()
    throughput_extra: tuple = ()


DRY = Sizes(
    # NIN stands in for ResNet50: a ResNet50 step takes seconds on a CPU
    resnet_model="nin",
    resnet_shape="[3,8,8]",
    layout_models=("nin",),
    nin_shape="[3,8,8]",
    warmup=1,
    steps=1,
    nin_warmup=1,
    nin_steps=1,
    profile_steps=2,
    ddp_batch=4,
    ddp_steps=1,
    data_batches={"mnist": 8, "synthetic": 8},
    data_steps=2,
    nin_epochs=1,
    command_limits=(
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
        "+trainer.limit_test_batches=1",
        "data.batch_size=8",
        "callbacks.model_summary=null",
    ),
    throughput_extra=(
        "callbacks.model_checkpoint=null",
        "callbacks.last_checkpoint=null",
        "callbacks.model_summary=null",
    ),
)


@dataclass
class Run:
    """This run: where it trains, how big, and the train.py commands it started."""

    dry: bool
    sizes: Sizes
    data_dir: str
    batch_resnet: int
    batch_nin: int
    tmp: Path
    started: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    datamodules: dict = field(default_factory=dict)
    # what is measured so far, written out after every variant (`save`), so that a run cut off
    # at its time limit leaves every figure it had; `deadline`: time.monotonic() to stop by
    results: dict = field(default_factory=dict)
    save: Callable[[], None] = lambda: None
    deadline: float | None = None

    def progress(self, section: str, partial: dict) -> None:
        """Section `section` so far: kept, and written out at once."""
        self.results[section] = partial
        self.save()

    def out_of_time(self) -> bool:
        """The run's time budget is spent (`time_budget_s`): no new measurement starts."""
        return self.deadline is not None and time.monotonic() > self.deadline

    @property
    def device(self) -> torch.device:
        return torch.device("cpu" if self.dry else "cuda")

    @property
    def trainer(self) -> str:
        return "cpu" if self.dry else "gpu"

    def datamodule(self, cfg):
        """The datamodule of `cfg.data`, built once for all the runs that train on the same data
        (random images are slow to draw, and on a GPU they are copied there once)."""
        key = OmegaConf.to_yaml(cfg.data)
        if key not in self.datamodules:
            self.datamodules.clear()  # one data set held at a time
            free_memory()
            L.seed_everything(cfg.seed)
            self.datamodules[key] = build_datamodule(cfg)
        return self.datamodules[key]

    def na(self, why: str = "") -> str:
        """A figure the CPU cannot give (`why`: kept in the JSON's notes)."""
        if why and why not in self.notes:
            self.notes.append(why)
        return "n/a on CPU"


SKIPPED = "skipped: the time budget (time_budget_s) was spent"


def measured(run: Run, measure: Callable[..., dict], *args) -> dict:
    """`measure(*args)`'s row, or the one-line reason it failed (a compile error, out of
    memory), or that the time budget was spent; the section goes on either way."""
    if run.out_of_time():
        return {"error": SKIPPED}
    try:
        return measure(*args)
    except Exception as error:  # noqa: BLE001 - recorded in the row, the next variant runs
        free_memory()
        return {"error": one_line(error)}


# --- measuring -------------------------------------------------------------------------------


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextlib.contextmanager
def peak_memory(run: Run, into: dict, key: str):
    """The peak GPU memory allocated inside the block (GiB) into `into[key]`."""
    if run.dry:
        yield
        into[key] = run.na("peak GPU memory (torch.cuda.max_memory_allocated)")
        return
    free_memory()
    torch.cuda.reset_peak_memory_stats()
    yield
    into[key] = round(torch.cuda.max_memory_allocated() / 2**30, 2)


def throughput_overrides(
    run: Run,
    model: str,
    shape: str,
    classes: int,
    batch: int,
    steps: int,
    trainer: tuple[str, ...] | None = None,
    ranks: int = 1,
) -> list[str]:
    """train.py on random images held in memory, one epoch of exactly `steps` batches on each
    of `ranks` ranks, no validation or test: the default callbacks and the CSV logger stay
    (train.py's path)."""
    return [
        f"model={model}",
        *(trainer or [f"trainer={run.trainer}"]),
        "logger=csv",
        "test=false",
        "trainer.max_epochs=1",
        "+trainer.limit_val_batches=0",
        "data=synthetic",
        f"data.image_shape={shape}",
        f"data.num_classes={classes}",
        f"data.train_size={steps * batch * ranks}",
        f"data.val_size={batch}",
        f"data.test_size={batch}",
        f"data.batch_size={batch}",
        *run.sizes.throughput_extra,
    ]


# --- train.py commands ------------------------------------------------------------------------


class Command:
    """`python train.py OVERRIDES` (`-m`: a sweep, one job per combination) in its own
    directory, with the suite's probe callbacks; started at once, read with `result()`: the
    whole command's wall time, its SUITE_* lines, and each job's result.json and training time.
    """

    def __init__(self, run: Run, name: str, overrides: list[str]):
        self.name, self.run_dir = name, run.tmp / "commands" / name
        self.overrides = overrides
        self.sweep = overrides[0] == "-m"
        where = f"hydra.sweep.dir={self.run_dir}" if self.sweep else f"hydra.run.dir={self.run_dir}"
        command = [
            sys.executable,
            str(ROOT / "train.py"),
            *overrides,
            where,
            "+callbacks.suite_fit._target_=suite_probe.FitTime",
        ]
        paths = [str(ROOT / "benchmarks"), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = os.environ | {"PYTHONPATH": os.pathsep.join(paths), "WANDB_MODE": "offline"}
        self.start = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def result(self) -> dict:
        stdout, stderr = self.process.communicate()
        wall = time.perf_counter() - self.start
        if self.process.returncode != 0:
            raise RuntimeError(f"train.py {' '.join(self.overrides)} failed:\n{stderr[-3000:]}")
        job_dirs = (
            sorted(
                (d for d in self.run_dir.iterdir() if d.name.isdigit()), key=lambda d: int(d.name)
            )
            if self.sweep
            else [self.run_dir]
        )
        jobs = []
        for job_dir in job_dirs:
            record = json.loads((job_dir / "result.json").read_text())
            if record["status"] != "completed":
                raise RuntimeError(f"{job_dir}: {record['status']}: {record.get('error')}")
            jobs.append(
                {
                    "overrides": record.get("overrides", []),
                    "job_s": round(record["duration_s"], 1),
                    "training_s": round(float((job_dir / FIT_SECONDS).read_text()), 1),
                    "metrics": record.get("metrics", {}),
                }
            )
        marks = dict(
            line.split(" ", 1) for line in stdout.splitlines() if line.startswith("SUITE_")
        )
        return {
            "command": "python train.py " + " ".join(self.overrides),
            "whole_s": round(wall, 1),
            "jobs": jobs,
            "marks": marks,
            "stderr": stderr,
        }


FIT_SECONDS = "fit_seconds.txt"  # written by suite_probe.FitTime into each run directory


def command_result(run: Run, name: str, overrides: list[str]) -> dict:
    """The command's result: started before (the dry run starts them all at once), or now."""
    command = run.started.pop(name, None) or Command(run, name, overrides)
    return command.result()
