"""The suite's results as text; it measures nothing: the machine they come from (card, date,
commit, torch, CUDA, cuDNN, Lightning and Python versions) and each section's markdown, in the
sections' order, for OUT/gpu_suite.md and docs/benchmarks.md's GPU section."""

import datetime
import os
import platform
import subprocess

import torch
from harness import ROOT

from .common import Run


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
    for name in WRITERS:  # the sections' order
        section = results.get(name)
        if section is None:
            continue
        if "error" in section:
            lines += [f"### {name}", "", f"failed: {section['error'].splitlines()[-1]}", ""]
            continue
        try:
            lines += WRITERS[name](section) + [""]
        except (KeyError, TypeError):  # a section the run stopped inside: what it has is JSON
            lines += [f"### {name}", "", INCOMPLETE, ""]
    return "\n".join(lines)


INCOMPLETE = (
    "incomplete: the run stopped inside this section; its figures so far are in gpu_suite.json"
)


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
        if "error" in row:
            lines.append(f"| {variant} | {row['error']} | | | | |")
            continue
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
