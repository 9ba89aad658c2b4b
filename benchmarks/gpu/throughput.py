"""Images/s of train.py's path (the default callbacks, the CSV logger) against the
hand-written loop of benchmarks/parity.py on the same net, weights, optimizer and batches, for
each variant (fp32, bf16-mixed + channels_last, cuDNN's algorithm search, torch.compile), with the
peak GPU memory of each and their first losses compared; train.py's path alone; and a
torch.profiler view of train.py's path: host reads of device values, wall and GPU kernel time per
step, the operators that take the host's time. ResNet50's and NIN's sections are made of these."""

import time

import lightning as L
import torch
from harness import compose_train_config
from hydra.utils import instantiate
from parity import ours, plain
from torch.profiler import ProfilerActivity, profile

from dlnotes.run.build import build_datamodule, build_model, build_trainer

from .common import Run, free_memory, measured, peak_memory, throughput_overrides

SWITCHES = {
    "bf16": "trainer.precision=bf16-mixed",
    "channels_last": "model.channels_last=true",
    "benchmark": "++trainer.benchmark=true",
    "compile": "model.compile=true",
}
BARS = {"resnet50": 0.97, "nin": 0.95}


def variant_overrides(variant: str) -> list[str]:
    names = [] if variant == "fp32" else variant.split("+")
    return ["model.channels_last=false", *(SWITCHES[name] for name in names)]


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
    result = {
        "model": model if model == section else f"{model} (dry run: standing in for {section})",
        "shape": shape,
        "batch": batch,
        "steps": {"warmup": warmup, "timed": steps},
        "variants": rows,
        "best": None,
    }
    for variant in variants:
        overrides = throughput_overrides(run, model, shape, classes, batch, warmup + steps)
        overrides += variant_overrides(variant)
        name = f"{section}-{variant}"
        rows[variant] = measured(run, ours_and_plain, run, overrides, warmup, steps, name)
        if "error" not in rows[variant]:
            rows[variant]["bar"] = BARS[section]
            rows[variant]["met"] = rows[variant]["ratio"] >= BARS[section]
        print(f"{section} {variant}: {rows[variant]}", flush=True)
        run.progress(section, result)
    done = [v for v in rows if "error" not in rows[v]]
    result["best"] = max(done, key=lambda v: rows[v]["ours"]) if done else None
    return result


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
