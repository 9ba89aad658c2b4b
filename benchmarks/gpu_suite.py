"""GPU suite: every figure of docs/benchmarks.md's GPU section, each beside its same-run
baseline, in one run that writes them as JSON and markdown.

    python benchmarks/gpu_suite.py [out=logs/gpu_suite] [data_dir=../shared/data]
        [sections=resnet50,nin,accuracy,ddp,data] [batch_resnet=256] [batch_nin=512]
        [write_docs=false] [dry_run=false]

Sections (each figure with its baseline from the same run):
  resnet50  ResNet50, 224×224 random images held on the GPU (data=synthetic), trainer=gpu:
            fp32, bf16-mixed + channels_last (also with trainer.benchmark=true: cuDNN picks its
            algorithms), and + model.compile=true. train.py's path (default callbacks, CSV
            logger) against the hand-written loop of benchmarks/parity.py on the same net,
            weights, optimizer and batches: images/s, ratio, peak GPU memory; the best variant
            against the 4,000 images/s goal (the published A100 reference: ~2,470 with AMP);
            bf16 + channels_last again at twice the batch (does a bigger batch help?).
  nin       The same for NIN at 32×32, batch 512 (a high step rate), and a profile of ours:
            host reads of device values per step (each one a wait for the GPU), wall and GPU
            kernel time per step, the top operators.
  accuracy  `python train.py` commands, each timed whole and training alone: NIN on MNIST
            (data_dir, torchvision's layout) to >= 99% test accuracy with bf16-mixed; the
            experiments vae_mnist and dcgan_mnist.
  ddp       trainer=ddp on the machine's GPUs: images/s per GPU against trainer=gpu in the same
            run, whether PyTorch warned "Grad strides do not match bucket view strides", the
            parameters whose gradient strides differ from theirs after one step (our
            channels_last path and a plain `.to(memory_format=...)` one), the SyncBatchNorm
            layers the DDP model has, and what trainer=ddp says to model.net.norm=notes_bn.
  data      data.on_device=true against false (MNIST and 3×32×32 random images in memory):
            data wait per step (fetching and moving the batch, Lightning's simple profiler)
            and its share of the step.

Writes OUT/gpu_suite.json and OUT/gpu_suite.md (the card, date, commit, torch, CUDA and cuDNN
versions on top); write_docs=true also puts the markdown into docs/benchmarks.md between its
`gpu-suite` markers (write_docs=append: after what is there, for a run made in two parts).
dry_run=true runs the same code on the CPU at tiny sizes (tests/test_gpu_suite.py; NIN stands
in for ResNet50): its numbers mean nothing, and the figures only a GPU has (peak GPU memory,
GPU kernel time, SyncBatchNorm) read "n/a on CPU".
"""

import contextlib
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from harness import MNIST, ROOT, compose_train_config, split_args
from hydra.utils import instantiate
from omegaconf import OmegaConf
from parity import ours, plain
from torch.profiler import ProfilerActivity, profile

from dlnotes.train import build_datamodule, build_model, build_trainer
from dlnotes.utils.errors import ConfigError
from dlnotes.utils.validate import validate_config

DEFAULTS = {
    "out": "logs/gpu_suite",
    "data_dir": str(MNIST),
    "sections": "resnet50,nin,accuracy,ddp,data",
    "batch_resnet": "256",
    "batch_nin": "512",
    "write_docs": "false",
    "dry_run": "false",
}
SWITCHES = {
    "bf16": "trainer.precision=bf16-mixed",
    "channels_last": "model.channels_last=true",
    "benchmark": "++trainer.benchmark=true",
    "compile": "model.compile=true",
}
RESNET_VARIANTS = (
    "fp32",
    "bf16+channels_last",
    "bf16+channels_last+benchmark",
    "compile+bf16+channels_last",
)
NIN_VARIANTS = ("fp32", "bf16+channels_last", "compile+bf16+channels_last")
GOAL_RESNET = 4000.0  # images/s, best variant, one H200
A100_REFERENCE = 2470.0  # NVIDIA's ResNet50 v1.5 training, AMP, one A100
BARS = {"resnet50": 0.97, "nin": 0.95}
STRIDE_WARNING = "Grad strides do not match bucket view strides"
DOCS = ROOT / "docs" / "benchmarks.md"
MARKERS = ("<!-- gpu-suite:start -->", "<!-- gpu-suite:end -->")


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


def variant_overrides(variant: str) -> list[str]:
    names = [] if variant == "fp32" else variant.split("+")
    return ["model.channels_last=false", *(SWITCHES[name] for name in names)]


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


def ours_and_plain(run: Run, overrides: list[str], warmup: int, steps: int, name: str) -> dict:
    """images/s of train.py's path and of the plain loop on the same net, weights and batches,
    timed over steps warmup..warmup+steps (after compilation and cuDNN's first calls)."""
    cfg = compose_train_config(overrides, run.tmp / f"{name}-ours")
    batch = cfg.data.batch_size
    datamodule = run.datamodule(cfg)
    L.seed_everything(cfg.seed)
    initial = instantiate(cfg.model.net).state_dict()
    timing = {"warmup": warmup, "until": warmup + steps}
    row: dict = {"batch": batch}
    # cuDNN's algorithm search as the config asks, for both (the Trainer keeps what it finds set)
    torch.backends.cudnn.benchmark = bool(cfg.trainer.get("benchmark"))
    with peak_memory(run, row, "peak_gib_ours"):
        seconds, ours_losses = ours(cfg, initial, 2, datamodule=datamodule, **timing)
    row["ours"] = round(steps * batch / seconds, 1)
    cfg = compose_train_config(overrides, run.tmp / f"{name}-plain")
    torch.backends.cudnn.benchmark = bool(cfg.trainer.get("benchmark"))
    with peak_memory(run, row, "peak_gib_plain"):
        seconds, plain_losses = plain(
            cfg, initial, 2, datamodule=datamodule, device=run.device, **timing
        )
    row["plain"] = round(steps * batch / seconds, 1)
    row["ratio"] = round(row["ours"] / row["plain"], 3)
    # the same maths: equal on the CPU; a GPU's kernels may differ in the last digits
    pairs = zip(ours_losses, plain_losses, strict=True)
    row["first_losses_max_difference"] = max(abs(a - b) for a, b in pairs)
    del datamodule
    free_memory()
    return row


def ours_only(run: Run, overrides: list[str], warmup: int, steps: int, name: str) -> dict:
    """images/s and peak memory of train.py's path alone."""
    cfg = compose_train_config(overrides, run.tmp / name)
    batch = cfg.data.batch_size
    datamodule = run.datamodule(cfg)
    L.seed_everything(cfg.seed)
    initial = instantiate(cfg.model.net).state_dict()
    row: dict = {"batch": batch}
    torch.backends.cudnn.benchmark = bool(cfg.trainer.get("benchmark"))
    with peak_memory(run, row, "peak_gib_ours"):
        seconds, _ = ours(
            cfg, initial, 0, datamodule=datamodule, warmup=warmup, until=warmup + steps
        )
    row["ours"] = round(steps * batch / seconds, 1)
    del datamodule
    free_memory()
    return row


def throughput_section(
    run: Run, section: str, model: str, shape: str, classes: int, variants, batch: int
) -> dict:
    """Each variant's ours and plain images/s (`section`'s bar on their ratio)."""
    warmup, steps = (
        (run.sizes.warmup, run.sizes.steps)
        if section == "resnet50"
        else (run.sizes.nin_warmup, run.sizes.nin_steps)
    )
    rows = {}
    for variant in variants:
        overrides = throughput_overrides(run, model, shape, classes, batch, warmup + steps)
        overrides += variant_overrides(variant)
        rows[variant] = ours_and_plain(run, overrides, warmup, steps, f"{section}-{variant}")
        rows[variant]["bar"] = BARS[section]
        rows[variant]["met"] = rows[variant]["ratio"] >= BARS[section]
        print(f"{section} {variant}: {rows[variant]}", flush=True)
    best = max(rows, key=lambda v: rows[v]["ours"])
    return {
        "model": model if model == section else f"{model} (dry run: standing in for {section})",
        "shape": shape,
        "batch": batch,
        "steps": {"warmup": warmup, "timed": steps},
        "variants": rows,
        "best": best,
    }


def resnet50(run: Run) -> dict:
    sizes, batch, model = run.sizes, run.batch_resnet, run.sizes.resnet_model
    result = throughput_section(
        run, "resnet50", model, sizes.resnet_shape, 1000, RESNET_VARIANTS, batch
    )
    best = result["variants"][result["best"]]["ours"]
    result["goal"] = {
        "images_per_s": best,
        "goal": GOAL_RESNET,
        "met": best >= GOAL_RESNET,
        "vs_a100_reference": round(best / A100_REFERENCE, 2),
    }
    # twice the batch, bf16 + channels_last: more images/s there means the GPU had room to spare
    steps = sizes.warmup + sizes.steps
    overrides = throughput_overrides(run, model, sizes.resnet_shape, 1000, 2 * batch, steps)
    overrides += variant_overrides("bf16+channels_last")
    try:
        doubled = ours_only(run, overrides, sizes.warmup, sizes.steps, "resnet50-2x")
    except torch.OutOfMemoryError:
        doubled = {"batch": 2 * batch, "ours": "out of GPU memory", "peak_gib_ours": "-"}
        free_memory()
    result["doubled_batch"] = doubled
    # where the time goes at the given batch: the GPU busy, or waiting for the host
    steps = sizes.warmup + sizes.profile_steps
    overrides = throughput_overrides(run, model, sizes.resnet_shape, 1000, batch, steps)
    overrides += variant_overrides("bf16+channels_last")
    profiled = profile_ours(run, overrides, sizes.warmup, sizes.profile_steps, "resnet50-profile")
    result["profile"] = profiled | {"variant": "bf16+channels_last"}
    result["limit"] = limit(run, result)
    return result


def limit(run: Run, result: dict) -> str:
    """What held the best variant below the goal, from the same run's measurements."""
    if result["goal"]["met"]:
        return "none: the goal is met"
    busy = result["profile"]["gpu_busy_share"]
    same_batch = result["variants"]["bf16+channels_last"]["ours"]
    doubled = result["doubled_batch"]["ours"]
    gain = doubled / same_batch if isinstance(doubled, float) else None
    if not isinstance(busy, float):
        return run.na("what limits the best variant (the GPU's busy share)")
    facts = f"GPU busy {busy:.0%} of the profiled steps' wall time" + (
        f"; twice the batch: {gain:.2f}× the images/s" if gain else f"; twice the batch: {doubled}"
    )
    if busy >= 0.9:
        return f"the GPU itself, its kernels back to back ({facts})"
    if gain and gain >= 1.05:
        return f"the batch size: the GPU waits between kernels at this batch ({facts})"
    return f"the host: the GPU waits for Python between kernels ({facts})"


class ProfileSteps(L.Callback):
    """torch.profiler over training steps warmup..warmup+steps: host reads of device values
    (`aten::_local_scalar_dense`: .item(), float(), bool() of a tensor), wall and GPU kernel
    time per step, the operators that take the host's time."""

    def __init__(self, warmup: int, steps: int, device: torch.device):
        self.warmup, self.steps, self.device = warmup, steps, device
        self.profiler, self.result = None, {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.warmup and self.profiler is None:
            activities = [ProfilerActivity.CPU]
            if self.device.type == "cuda":
                activities.append(ProfilerActivity.CUDA)
                torch.cuda.synchronize()
            self.profiler = profile(activities=activities)
            self.profiler.__enter__()
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step != self.warmup + self.steps:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        wall = time.perf_counter() - self.start
        self.profiler.__exit__(None, None, None)
        events = self.profiler.key_averages()
        reads = sum(e.count for e in events if e.key == "aten::_local_scalar_dense")
        self.result = {
            "host_reads_per_step": round(reads / self.steps, 2),
            "wall_ms_per_step": round(1000 * wall / self.steps, 3),
        }
        if self.device.type == "cuda":
            cuda = torch.autograd.DeviceType.CUDA
            kernels = sum(e.self_device_time_total for e in events if e.device_type == cuda)
            self.result["gpu_kernel_ms_per_step"] = round(kernels / 1000 / self.steps, 3)
            self.result["gpu_busy_share"] = round(
                self.result["gpu_kernel_ms_per_step"] / self.result["wall_ms_per_step"], 3
            )
        top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
        self.result["top_host_ops"] = [
            f"{e.key}: {e.self_cpu_time_total / 1000 / self.steps:.3f} ms/step" for e in top
        ]


def profile_ours(run: Run, overrides: list[str], warmup: int, steps: int, name: str) -> dict:
    cfg = compose_train_config(overrides, run.tmp / name)
    L.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    trainer, _ = build_trainer(cfg, ckpt_path=None)
    probe = ProfileSteps(warmup, steps, run.device)
    trainer.callbacks.append(probe)
    trainer.fit(model, datamodule=datamodule)
    result = probe.result
    if run.dry:
        result["gpu_kernel_ms_per_step"] = result["gpu_busy_share"] = run.na(
            "GPU kernel time per step and GPU busy share"
        )
    del trainer, model, datamodule
    free_memory()
    return result


def nin(run: Run) -> dict:
    sizes, batch = run.sizes, run.batch_nin
    result = throughput_section(run, "nin", "nin", sizes.nin_shape, 10, NIN_VARIANTS, batch)
    steps = sizes.nin_warmup + sizes.profile_steps
    overrides = throughput_overrides(run, "nin", sizes.nin_shape, 10, batch, steps)
    overrides += variant_overrides("bf16+channels_last")
    result["profile"] = profile_ours(
        run, overrides, sizes.nin_warmup, sizes.profile_steps, "nin-profile"
    )
    result["profile"]["variant"] = "bf16+channels_last"
    return result


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


def accuracy_commands(run: Run) -> dict[str, list[str]]:
    """NIN on MNIST alone (its whole command is the time to accuracy), and the two
    experiments as one sweep (each job timed; their start-up is NIN's, once)."""
    common = [
        f"data.data_dir={run.data_dir}",
        "data.download=false",
        f"trainer={run.trainer}",
        "logger=csv",
        *run.sizes.command_limits,
    ]
    return {
        "nin_mnist": [
            "data=mnist",
            "trainer.precision=bf16-mixed",
            f"trainer.max_epochs={run.sizes.nin_epochs}",
            *common,
        ],
        # data=mnist as both experiments have it: the sweep checks the overrides against it
        "experiments": ["-m", "experiment=vae_mnist,dcgan_mnist", "data=mnist", *common],
    }


def ddp_overrides(run: Run, ddp: bool) -> list[str]:
    """ResNet50 on 1×28×28 images (MNIST's shape: the first conv sees one channel, stage 5 is
    1×1), bf16-mixed, channels_last: the run in which DDP warned about gradient strides; under
    DDP (`ddp`) or on one device."""
    sizes = run.sizes
    steps = sizes.warmup + sizes.ddp_steps
    # the dry run: DDP in one CPU process (gloo), as cheap as DDP gets; SyncBatchNorm is GPU-only
    trainer = ("trainer=ddp_cpu", "trainer.devices=1") if run.dry else ("trainer=ddp",)
    ranks = 1 if run.dry or not ddp else torch.cuda.device_count()
    return [
        *throughput_overrides(
            run,
            sizes.resnet_model,
            "[1,28,28]",
            10,
            sizes.ddp_batch,
            steps,
            trainer if ddp else None,
            ranks,
        ),
        "trainer.precision=bf16-mixed",
    ]


def ddp_command(run: Run) -> list[str]:
    sizes = run.sizes
    probe = "+callbacks.suite_rate"
    return [
        *ddp_overrides(run, ddp=True),
        f"{probe}._target_=suite_probe.StepRate",
        f"{probe}.warmup={sizes.warmup}",
        f"{probe}.until={sizes.warmup + sizes.ddp_steps}",
    ]


def commands(run: Run, sections: list[str]) -> dict[str, list[str]]:
    chosen = dict(accuracy_commands(run)) if "accuracy" in sections else {}
    if "ddp" in sections:
        chosen["ddp"] = ddp_command(run)
    return chosen


def command_result(run: Run, name: str, overrides: list[str]) -> dict:
    """The command's result: started before (the dry run starts them all at once), or now."""
    command = run.started.pop(name, None) or Command(run, name, overrides)
    return command.result()


def accuracy(run: Run) -> dict:
    commands = accuracy_commands(run)
    nin = command_result(run, "nin_mnist", commands["nin_mnist"])
    (job,) = nin["jobs"]
    value = job["metrics"]["test/acc"]
    result = {
        "nin_mnist": {
            "command": nin["command"],
            "whole_s": nin["whole_s"],
            "job_s": job["job_s"],
            "training_s": job["training_s"],
            "metric": "test/acc",
            "value": value,
            "target": 0.99,
            "met": value >= 0.99,
        }
    }
    sweep = command_result(run, "experiments", commands["experiments"])
    for job, name in zip(sweep["jobs"], ("vae_mnist", "dcgan_mnist"), strict=True):
        row = {
            "command": f"python train.py experiment={name} "
            + " ".join(commands["experiments"][2:]),
            "whole_s": "in one sweep: " + number(sweep["whole_s"]) + " s for both",
            "job_s": job["job_s"],
            "training_s": job["training_s"],
        }
        if name == "vae_mnist":
            row["metric"], row["value"] = "test/recon_ratio", job["metrics"]["test/recon_ratio"]
        result[name] = row
    for name, row in result.items():
        print(f"{name}: {row}", flush=True)
    return result


# --- DDP --------------------------------------------------------------------------------------


def mismatched_grad_strides(run: Run, model_name: str, shape: str, ours_path: bool) -> list[str]:
    """Parameters whose gradient strides differ from theirs after one bf16 step on the device:
    through ClassificationTask (ours) or a net moved with `.to(memory_format=channels_last)`
    and fed `.contiguous(memory_format=channels_last)` batches."""
    overrides = throughput_overrides(run, model_name, shape, 10, 4, 1)
    cfg = compose_train_config(overrides, run.tmp / "strides")
    L.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    images, labels = datamodule.split("train")
    images = images[:4].to(run.device).float().div(255)
    labels = labels[:4].to(run.device)
    if ours_path:
        model = build_model(cfg, datamodule).to(run.device)
        net, forward = model.net, model
    else:
        net = instantiate(cfg.model.net).to(run.device, memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)

        def forward(x):
            return net(x)

    with torch.autocast(run.device.type, dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(forward(images), labels)
    loss.backward()
    return [
        f"{name} {tuple(p.shape)}: grad {p.grad.stride()} / param {p.stride()}"
        for name, p in net.named_parameters()
        if p.grad is not None and p.grad.stride() != p.stride()
    ]


def notes_bn_under_ddp(run: Run) -> str:
    """What train.py says to trainer=ddp with the notes' BN (validate_config, before anything
    is built)."""
    cfg = compose_train_config(["trainer=ddp", "model.net.norm=notes_bn"], run.tmp / "notes-bn")
    try:
        validate_config(cfg)
    except ConfigError as error:
        return f"refused: {error}"
    return "accepted (its statistics stay per GPU)"


def ddp(run: Run) -> dict:
    sizes = run.sizes
    result = {"layout": {}}
    for model_name in sizes.layout_models:
        for shape in ("[1,28,28]", "[3,32,32]"):
            key = f"{model_name} {shape}"
            result["layout"][key] = {
                "ours": mismatched_grad_strides(run, model_name, shape, ours_path=True),
                "to_memory_format": mismatched_grad_strides(run, model_name, shape, False),
            }
            free_memory()
    result["notes_bn"] = notes_bn_under_ddp(run)
    done = command_result(run, "ddp", ddp_command(run))
    marks = done["marks"]
    world = int(marks["SUITE_WORLD"])
    warnings = [line for line in done["stderr"].splitlines() if "strides()" in line]
    result["run"] = {
        "command": done["command"],
        "world_size": world,
        "model_wrapper": marks["SUITE_WRAPPER"],
        "images_per_s_per_gpu": round(float(marks["SUITE_IMAGES_PER_S"]), 1),
        "stride_warning": STRIDE_WARNING in done["stderr"],
        "stride_warning_lines": warnings[:4],
        "sync_batchnorm_layers": int(marks["SUITE_SYNC_BN"])
        if not run.dry
        else run.na("SyncBatchNorm layers under DDP (GPU-only: trainer=ddp_cpu has it off)"),
    }
    # the same config on one device, trainer=gpu, in this process: the per-GPU baseline
    cfg = compose_train_config(ddp_overrides(run, ddp=False), run.tmp / "ddp-baseline")
    L.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    initial = instantiate(cfg.model.net).state_dict()
    until = sizes.warmup + sizes.ddp_steps
    seconds, _ = ours(cfg, initial, 0, datamodule=datamodule, warmup=sizes.warmup, until=until)
    single = sizes.ddp_steps * sizes.ddp_batch / seconds
    result["run"]["single_device_images_per_s"] = round(single, 1)
    result["run"]["ratio_per_gpu"] = round(result["run"]["images_per_s_per_gpu"] / single, 3)
    del datamodule
    free_memory()
    return result


# --- data on the device -----------------------------------------------------------------------

DATA_WAIT_ACTIONS = ("train_dataloader_next", "batch_to_device")


class KeepProfile(L.Callback):
    """The seconds Lightning's simple profiler recorded for each action, as training ends."""

    def on_train_end(self, trainer, pl_module):
        self.durations = {k: list(v) for k, v in trainer.profiler.recorded_durations.items()}


def data_wait(run: Run, case: str, on_device: bool) -> dict:
    """ms per step waiting for the batch (fetching it and moving it, as Lightning's simple
    profiler records them) and ms per step in all, NIN bf16-mixed, `steps` steps."""
    sizes = run.sizes
    batch = sizes.data_batches[case]
    steps = sizes.data_steps
    if case == "mnist":
        overrides = [
            "model=nin",
            f"trainer={run.trainer}",
            "logger=csv",
            "test=false",
            "data=mnist",
            f"data.data_dir={run.data_dir}",
            "data.download=false",
            f"data.batch_size={batch}",
            "trainer.max_epochs=1",
            f"+trainer.limit_train_batches={steps}",
            "+trainer.limit_val_batches=0",
        ]
    else:
        overrides = throughput_overrides(run, "nin", run.sizes.nin_shape, 10, batch, steps)
    overrides += [
        "trainer.precision=bf16-mixed",
        f"data.on_device={str(on_device).lower()}",
        # Lightning's simple profiler, its report written to a file
        "+trainer.profiler._target_=lightning.pytorch.profilers.SimpleProfiler",
        f"+trainer.profiler.dirpath={run.tmp / 'profiles'}",
        f"+trainer.profiler.filename=data-{case}-{on_device}",
    ]
    cfg = compose_train_config(overrides, run.tmp / f"data-{case}-{on_device}")
    L.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    initial = instantiate(cfg.model.net).state_dict()
    profiled = KeepProfile()
    # the steps after the first, synchronized: what a step takes, waits included
    seconds, _ = ours(
        cfg, initial, 0, datamodule=datamodule, callbacks=[profiled], warmup=1, until=steps
    )
    step_ms = 1000 * seconds / (steps - 1)
    # the typical (median) time of each action the batch waits for, once a step
    waits = [
        statistics.median(values)
        for name, values in profiled.durations.items()
        if any(action in name for action in DATA_WAIT_ACTIONS)
    ]
    wait_ms = 1000 * sum(waits)
    del datamodule
    free_memory()
    return {
        "batch": batch,
        "data_wait_ms_per_step": round(wait_ms, 3),
        "step_ms": round(step_ms, 3),
        "share": round(wait_ms / step_ms, 4),
    }


def data(run: Run) -> dict:
    result = {}
    for case in ("mnist", "synthetic"):
        result[case] = {
            f"on_device={str(value).lower()}": data_wait(run, case, value)
            for value in (True, False)
        }
        if run.dry:
            run.na("data.on_device: on a CPU both settings index batches in host memory")
    return result


SECTIONS = {"resnet50": resnet50, "nin": nin, "accuracy": accuracy, "ddp": ddp, "data": data}


# --- report -----------------------------------------------------------------------------------


def machine(run: Run) -> dict:
    import lightning

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    if run.dry:
        card = f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    else:
        card = torch.cuda.get_device_name()
    return {
        "card": card,
        "date": datetime.date.today().isoformat(),
        "commit": commit or "unknown",
        "torch": torch.__version__,
        "cuda": torch.version.cuda if not run.dry else run.na(),
        "cudnn": torch.backends.cudnn.version() if not run.dry else run.na(),
        "lightning": lightning.__version__,
        "python": platform.python_version(),
        "dry_run": run.dry,
    }


def number(value, unit: str = "") -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") + unit
    return str(value)


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Measured by `python benchmarks/gpu_suite.py` on {m['card']}, {m['date']}, commit "
        f"{m['commit']}; torch {m['torch']}, CUDA {m['cuda']}, cuDNN {m['cudnn']}, Lightning "
        f"{m['lightning']}, Python {m['python']}"
        + (" (dry run: tiny sizes on the CPU, the numbers mean nothing)." if m["dry_run"] else "."),
        "",
    ]
    if results.get("notes"):
        lines += ["n/a on CPU: " + "; ".join(results["notes"]) + ".", ""]
    for name in SECTIONS:
        section = results.get(name)
        if section is None:
            continue
        if "error" in section:
            lines += [f"### {name}", "", f"failed: {section['error'].splitlines()[-1]}", ""]
            continue
        lines += WRITERS[name](section) + [""]
    return "\n".join(lines)


def throughput_lines(title: str, section: dict) -> list[str]:
    lines = [
        f"### {title}: {section['model']}, {section['shape']}, batch {section['batch']}, "
        f"{section['steps']['timed']} steps timed after {section['steps']['warmup']}",
        "",
        "| variant | ours, images/s | plain loop, images/s | ours / plain | bar | "
        "peak GPU memory, ours / plain (GiB) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for variant, row in section["variants"].items():
        met = "met" if row["met"] else "**not met**"
        lines.append(
            f"| {variant} | {number(row['ours'])} | {number(row['plain'])} | "
            f"**{number(row['ratio'])}** | ≥ {row['bar']} ({met}) | "
            f"{number(row['peak_gib_ours'])} / {number(row['peak_gib_plain'])} |"
        )
    return lines


def resnet50_lines(section: dict) -> list[str]:
    lines = throughput_lines("1. ResNet50 training", section)
    goal, doubled = section["goal"], section["doubled_batch"]
    lines += [
        "",
        f"Best: {section['best']}, **{number(goal['images_per_s'])} images/s** against the goal "
        f"of {number(goal['goal'])} ({'met' if goal['met'] else 'not met'}); "
        f"{number(goal['vs_a100_reference'])}× NVIDIA's A100 reference (2,470 images/s, AMP). "
        f"bf16 + channels_last at twice the batch ({doubled['batch']}): ours "
        f"{number(doubled['ours'])} images/s (peak {number(doubled['peak_gib_ours'])} GiB). "
        f"What limits it: {section['limit']}.",
    ]
    return lines


def nin_lines(section: dict) -> list[str]:
    lines = throughput_lines("2. NIN training", section)
    p = section["profile"]
    lines += [
        "",
        f"Profile of ours ({p['variant']}): {number(p['host_reads_per_step'])} host reads of "
        f"device values per step, {number(p['wall_ms_per_step'])} ms wall and "
        f"{number(p['gpu_kernel_ms_per_step'])} ms of GPU kernels per step (GPU busy "
        f"{number(p['gpu_busy_share'])}). Host time by operator: "
        + "; ".join(p["top_host_ops"][:5])
        + ".",
    ]
    return lines


def accuracy_lines(section: dict) -> list[str]:
    lines = [
        "### 3. Time to accuracy and experiment wall times",
        "",
        "| command | result | whole command (s) | job, no start-up (s) | training alone (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in section.values():
        result = "-"
        if "metric" in row:
            result = f"{row['metric']} {number(row['value'])}"
            if "target" in row:
                result += f" (≥ {row['target']}: {'met' if row['met'] else 'not met'})"
        lines.append(
            f"| `{row['command']}` | {result} | {number(row['whole_s'])} | "
            f"{number(row['job_s'])} | {number(row['training_s'])} |"
        )
    return lines


def ddp_lines(section: dict) -> list[str]:
    run = section["run"]
    lines = [
        "### 4. DDP",
        "",
        f"`{run['command']}` ({run['world_size']} rank(s)): **{number(run['images_per_s_per_gpu'])}"
        f" images/s per GPU** against {number(run['single_device_images_per_s'])} with "
        f"trainer=gpu in the same run (ratio **{number(run['ratio_per_gpu'])}**). PyTorch's "
        f"gradient-stride warning: **{'printed' if run['stride_warning'] else 'not printed'}**"
        + (f" ({'; '.join(run['stride_warning_lines'])})" if run["stride_warning_lines"] else "")
        + f". SyncBatchNorm layers in the DDP model: {number(run['sync_batchnorm_layers'])}. "
        f"`trainer=ddp model.net.norm=notes_bn`: {section['notes_bn']}",
        "",
        "| model, input | gradients with other strides than their parameter: ours | "
        "with `.to(memory_format=channels_last)` |",
        "| --- | --- | --- |",
    ]
    for key, found in section["layout"].items():
        ours_found = "; ".join(found["ours"]) or "none"
        other = "; ".join(found["to_memory_format"][:3]) or "none"
        more = len(found["to_memory_format"]) - 3
        lines.append(f"| {key} | {ours_found} | {other}{f' (+{more} more)' if more > 0 else ''} |")
    return lines


def data_lines(section: dict) -> list[str]:
    lines = [
        "### 5. In-memory data on the device",
        "",
        "| data, batch | data.on_device | data wait (ms/step) | step (ms) | share of the step |",
        "| --- | --- | --- | --- | --- |",
    ]
    for case, rows in section.items():
        if not isinstance(rows, dict):
            continue
        for setting, row in rows.items():
            if setting == "note":
                continue
            lines.append(
                f"| {case}, {row['batch']} | {setting.split('=')[1]} | "
                f"{number(row['data_wait_ms_per_step'])} | {number(row['step_ms'])} | "
                f"{100 * row['share']:.2f}% |"
            )
    return lines


WRITERS = {
    "resnet50": resnet50_lines,
    "nin": nin_lines,
    "accuracy": accuracy_lines,
    "ddp": ddp_lines,
    "data": data_lines,
}


def write_docs(text: str, append: bool = False) -> None:
    """Put `text` between the GPU section's markers in docs/benchmarks.md, instead of what is
    there or (`append`: a run's second part) after it."""
    docs = DOCS.read_text()
    start, end = MARKERS
    before, rest = docs.split(start, 1)
    inside, after = rest.split(end, 1)
    if append:
        text = f"{inside.strip()}\n\n{text}"
    DOCS.write_text(f"{before}{start}\n{text}\n{end}{after}")


# --- main -------------------------------------------------------------------------------------


@contextlib.contextmanager
def dry_run_settings(dry: bool):
    """The dry run: torch.compile runs eagerly (its code path without minutes of compiling on a
    CPU), one thread here and in the commands (tiny ops wait less on a busy CPU)."""
    if not dry:
        yield
        return
    threads = torch.get_num_threads()
    torch.compiler.set_stance("force_eager")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        torch.compiler.set_stance("default")
        torch.set_num_threads(threads)
        os.environ.pop("OMP_NUM_THREADS", None)


def timed_section(run: Run, name: str, seconds: dict) -> dict:
    """Section `name`'s results (or the error that stopped it: the others still run)."""
    start = time.perf_counter()
    try:
        result = SECTIONS[name](run)
    except Exception:
        traceback.print_exc()
        result = {"error": traceback.format_exc()}
    seconds[name] = round(time.perf_counter() - start, 1)
    print(f"{name}: {seconds[name]} s", flush=True)
    return result


def main(argv: list[str]) -> dict:
    args, overrides = split_args(argv, DEFAULTS)
    if overrides:
        raise SystemExit(f"error: unknown arguments {overrides}: use {', '.join(DEFAULTS)}")
    dry = args["dry_run"] == "true"
    if not dry and not torch.cuda.is_available():
        raise SystemExit("error: no GPU here (torch.cuda.is_available() is False): dry_run=true")
    sections = args["sections"].split(",")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"error: unknown sections {sorted(unknown)}: use {', '.join(SECTIONS)}")
    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    with dry_run_settings(dry), tempfile.TemporaryDirectory() as tmp:
        run = Run(
            dry=dry,
            sizes=DRY if dry else Sizes(),
            data_dir=args["data_dir"],
            batch_resnet=4 if dry else int(args["batch_resnet"]),
            batch_nin=8 if dry else int(args["batch_nin"]),
            tmp=Path(tmp),
        )
        results = {"machine": machine(run), "seconds": {}}
        if dry:  # the train.py commands beside the in-process sections: each only starts up
            run.started = {
                name: Command(run, name, o) for name, o in commands(run, sections).items()
            }
        try:
            for name in SECTIONS:
                if name in sections:
                    results[name] = timed_section(run, name, results["seconds"])
        finally:
            for command in run.started.values():  # left over if a section failed
                command.process.kill()
                command.process.wait()
    results["notes"] = run.notes
    text = markdown(results)
    (out / "gpu_suite.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "gpu_suite.md").write_text(text + "\n")
    if args["write_docs"] in ("true", "append"):
        write_docs(text, append=args["write_docs"] == "append")
    print(text)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
