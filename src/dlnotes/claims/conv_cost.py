"""What a network costs, measured on a trained run: parameters, floating-point operations per
image (forward) and the time of one training step's forward and backward pass on a batch of
its data — the costs the notes say a 1×1 reduction before a k×k convolution cuts
("通过1x1的卷积核操作还可以实现卷积核通道数的降维和升维，实现参数的减小化").
"""

import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from dlnotes.claims.trained_run import split_batches, trained_run

WARMUP_STEPS = 3
TIMED_STEPS = 20


def forward_flops(model: torch.nn.Module, images: torch.Tensor) -> float:
    """Floating-point operations of one forward pass per image (a multiply-add counts 2)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(images)
    return counter.get_total_flops() / len(images)


def training_step_ms(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Median milliseconds of forward + cross-entropy + backward on the batch (train mode)."""
    model.train()
    times = []
    for step in range(WARMUP_STEPS + TIMED_STEPS):
        start = time.perf_counter()
        F.cross_entropy(model(images), labels).backward()
        model.zero_grad(set_to_none=True)
        if step >= WARMUP_STEPS:
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def conv_cost(run_dir: Path) -> dict[str, float]:
    """{"cost/parameters", "cost/mflops", "cost/step_ms"} of a classifier's run: its last
    checkpoint, one training batch of its data config (its batch size), on the CPU."""
    model, data = trained_run(run_dir)
    model.cpu()
    images, labels = next(split_batches(data, "train"))
    return {
        "cost/parameters": float(sum(p.numel() for p in model.parameters())),
        "cost/mflops": forward_flops(model.eval(), images) / 1e6,
        "cost/step_ms": training_step_ms(model, images, labels),
    }
