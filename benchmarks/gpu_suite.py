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
dry_run=true runs the same code on the CPU at tiny sizes (tests/project/test_gpu_suite.py;
NIN stands in for ResNet50): its numbers mean nothing, and the figures only a GPU has (peak GPU
memory, GPU kernel time, SyncBatchNorm) read "n/a on CPU".

This script is the command: its arguments, the sections in their order (`SECTIONS`), `main`.
What each section measures is in benchmarks/gpu/, one module per section (resnet50, nin,
accuracy, ddp, data) beside what they share (gpu/common.py: sizes, the run, GPU memory, the
train.py command runner; gpu/throughput.py: train.py's path against the plain loop and its
profile) and the markdown (gpu/report.py).
"""

import contextlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch
from gpu.accuracy import accuracy, accuracy_commands
from gpu.common import DRY, Command, Run, Sizes
from gpu.data import data
from gpu.ddp import ddp, ddp_command
from gpu.nin import NIN_VARIANTS, nin
from gpu.report import machine, markdown
from gpu.resnet50 import RESNET_VARIANTS, limit, resnet50
from harness import MNIST, ROOT, split_args

# the command, and what tests/project/test_gpu_suite.py reads of the suite from this module
__all__ = [
    "DOCS",
    "MARKERS",
    "NIN_VARIANTS",
    "RESNET_VARIANTS",
    "SECTIONS",
    "Run",
    "Sizes",
    "limit",
    "main",
    "write_docs",
]

DEFAULTS = {
    "out": "logs/gpu_suite",
    "data_dir": str(MNIST),
    "sections": "resnet50,nin,accuracy,ddp,data",
    "batch_resnet": "256",
    "batch_nin": "512",
    "write_docs": "false",
    "dry_run": "false",
}
# docs/benchmarks.md is written from here, its path read when written (tests point it elsewhere)
DOCS = ROOT / "docs" / "benchmarks.md"
MARKERS = ("<!-- gpu-suite:start -->", "<!-- gpu-suite:end -->")
SECTIONS = {"resnet50": resnet50, "nin": nin, "accuracy": accuracy, "ddp": ddp, "data": data}


def commands(run: Run, sections: list[str]) -> dict[str, list[str]]:
    chosen = dict(accuracy_commands(run)) if "accuracy" in sections else {}
    if "ddp" in sections:
        chosen["ddp"] = ddp_command(run)
    return chosen


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
