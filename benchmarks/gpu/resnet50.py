"""Section 1, resnet50: ResNet50 at 224×224 on random images held on the GPU (data=synthetic),
trainer=gpu, each variant's images/s, train.py's path against the plain loop (gpu.throughput);
the best variant against the 4,000 images/s goal (NVIDIA's published A100 reference: ~2,470 with
AMP); bf16 + channels_last again at twice the batch (does a bigger batch help?); a profile at the
given batch; and, read from that same run, what limits it: the GPU itself, the batch size, or the
host."""

import torch

from .common import Run, free_memory, measured, throughput_overrides
from .throughput import ours_only, profile_ours, throughput_section, variant_overrides

RESNET_VARIANTS = (
    "fp32",
    "bf16+channels_last",
    "bf16+channels_last+benchmark",
    "compile+bf16+channels_last",
)
GOAL_RESNET = 4000.0  # images/s, best variant, one H200
A100_REFERENCE = 2470.0  # NVIDIA's ResNet50 v1.5 training, AMP, one A100


def resnet50(run: Run) -> dict:
    sizes, batch, model = run.sizes, run.batch_resnet, run.sizes.resnet_model
    result = throughput_section(
        run, "resnet50", model, sizes.resnet_shape, 1000, RESNET_VARIANTS, batch
    )
    best = result["variants"][result["best"]]["ours"] if result["best"] else None
    result["goal"] = {
        "images_per_s": best,
        "goal": GOAL_RESNET,
        "met": best is not None and best >= GOAL_RESNET,
        "vs_a100_reference": round(best / A100_REFERENCE, 2) if best else None,
    }
    run.progress("resnet50", result)
    # twice the batch, bf16 + channels_last: more images/s there means the GPU had room to spare
    steps = sizes.warmup + sizes.steps
    overrides = throughput_overrides(run, model, sizes.resnet_shape, 1000, 2 * batch, steps)
    overrides += variant_overrides("bf16+channels_last")
    result["doubled_batch"] = {"batch": 2 * batch} | measured(
        run, doubled_batch, run, overrides, sizes.warmup, sizes.steps, 2 * batch
    )
    run.progress("resnet50", result)
    # where the time goes at the given batch: the GPU busy, or waiting for the host
    steps = sizes.warmup + sizes.profile_steps
    overrides = throughput_overrides(run, model, sizes.resnet_shape, 1000, batch, steps)
    overrides += variant_overrides("bf16+channels_last")
    profiled = measured(
        run, profile_ours, run, overrides, sizes.warmup, sizes.profile_steps, "resnet50-profile"
    )
    result["profile"] = profiled | {"variant": "bf16+channels_last"}
    result["limit"] = limit(run, result)
    return result


def doubled_batch(run: Run, overrides: list[str], warmup: int, steps: int, batch: int) -> dict:
    try:
        return ours_only(run, overrides, warmup, steps, "resnet50-2x")
    except torch.OutOfMemoryError:
        free_memory()
        return {"batch": batch, "ours": "out of GPU memory", "peak_gib_ours": "-"}


def limit(run: Run, result: dict) -> str:
    """What held the best variant below the goal, from the same run's measurements."""
    if result["goal"]["met"]:
        return "none: the goal is met"
    busy = result["profile"].get("gpu_busy_share")
    same_batch = result["variants"].get("bf16+channels_last", {}).get("ours")
    doubled = result["doubled_batch"].get("ours")
    if not isinstance(same_batch, float):
        return "not measured: bf16 + channels_last did not run"
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
