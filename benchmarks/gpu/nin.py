"""Section 2, nin: NIN at 32×32, batch 512 (a high step rate, where a training loop's own
overhead shows), each variant's images/s, train.py's path against the plain loop
(gpu.throughput), and a profile of train.py's path: host reads of device values per step (each
one a wait for the GPU), wall and GPU kernel time per step, the top operators."""

from .common import Run, measured, throughput_overrides
from .throughput import profile_ours, throughput_section, variant_overrides

NIN_VARIANTS = ("fp32", "bf16+channels_last", "compile+bf16+channels_last")


def nin(run: Run) -> dict:
    sizes, batch = run.sizes, run.batch_nin
    result = throughput_section(run, "nin", "nin", sizes.nin_shape, 10, NIN_VARIANTS, batch)
    steps = sizes.nin_warmup + sizes.profile_steps
    overrides = throughput_overrides(run, "nin", sizes.nin_shape, 10, batch, steps)
    overrides += variant_overrides("bf16+channels_last")
    profiled = measured(
        run, profile_ours, run, overrides, sizes.nin_warmup, sizes.profile_steps, "nin-profile"
    )
    result["profile"] = profiled | {"variant": "bf16+channels_last"}
    return result
