"""GPU suite: every figure of docs/benchmarks.md's GPU section, each beside its same-run
baseline, in one run that writes them as JSON and markdown.

    python benchmarks/gpu_suite.py [out=logs/gpu_suite] [data_dir=../shared/data]
        [sections=resnet50,nin,accuracy,ddp,data] [batch_resnet=256] [batch_nin=512]
        [time_budget_s=0] [dry_run=false]
    python benchmarks/gpu_suite.py docs_from=OUT[,OUT2]    (on your machine, afterwards)

Everything a run produces is under `out`: gpu_suite.json and gpu_suite.md, rewritten after
every variant of every section, so a run cut off at any point keeps every figure measured so
far. `time_budget_s`: no new measurement starts after that many seconds (the rest is recorded
as skipped). A variant that fails (a compile error, out of memory) is recorded in its row with
its one-line reason and the section goes on. `docs_from` puts one or two runs' gpu_suite.md
into docs/benchmarks.md's GPU section (a run made in two calls: both, in order).

Estimated minutes on one H100/H200 at the default sizes (`ESTIMATED_MINUTES`): resnet50 3,
nin 1.5, accuracy 2.5, ddp 1, data 1 — two calls of under 9 minutes each:
sections=resnet50,nin then sections=accuracy,ddp,data (docs/benchmarks.md).

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
versions on top); the first line printed says the card, the versions and whether a C compiler
(torch.compile's) is there. data_dir is made absolute once, so train.py's subprocesses read the
same folder; the sections that read MNIST (accuracy, data) check its files before anything runs.
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
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch
from gpu.accuracy import accuracy, accuracy_commands
from gpu.common import DRY, SKIPPED, Command, Run, Sizes
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
    "time_budget_s": "0",  # 0: none; else no new measurement starts after this many seconds
    "docs_from": "",  # OUT[,OUT2]: put those runs' gpu_suite.md into docs/benchmarks.md
    "dry_run": "false",
}
# minutes each section takes on one H100/H200 at the default sizes (docs/benchmarks.md says
# how to split the sections into calls of under 9 minutes)
ESTIMATED_MINUTES = {"resnet50": 3.0, "nin": 1.5, "accuracy": 2.5, "ddp": 1.0, "data": 1.0}
MNIST_SECTIONS = ("accuracy", "data")  # the sections that read MNIST from data_dir
MNIST_FILES = [
    f"{s}-{k}-idx{n}-ubyte" for s in ("train", "t10k") for k, n in (("images", 3), ("labels", 1))
]
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
    if run.out_of_time():
        return {"error": SKIPPED}
    start = time.perf_counter()
    try:
        result = SECTIONS[name](run)
    except Exception:
        traceback.print_exc()
        result = {"error": traceback.format_exc()}
    seconds[name] = round(time.perf_counter() - start, 1)
    print(f"{name}: {seconds[name]} s", flush=True)
    return result


def check_mnist(data_dir: Path, sections: list[str]) -> None:
    """The MNIST files the accuracy and data sections read, before anything runs."""
    if not set(sections) & set(MNIST_SECTIONS):
        return
    raw = data_dir / "MNIST" / "raw"
    missing = [name for name in MNIST_FILES if not (raw / name).is_file()]
    if missing:
        raise SystemExit(
            f"error: MNIST not found in {raw} (missing {', '.join(missing)}): give "
            f"data_dir=DIR holding MNIST/raw/, or leave out sections {', '.join(MNIST_SECTIONS)}"
        )


def preflight_line(run: Run) -> str:
    """The card, torch and CUDA, and whether torch.compile has a C compiler to build with."""
    m = machine(run)
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    return (
        f"gpu_suite: {m['card']}; torch {m['torch']}, CUDA {m['cuda']}, cuDNN {m['cudnn']}; "
        f"C compiler for torch.compile: {compiler or 'none (the compile variants will fail)'}"
    )


def writer(out: Path, results: dict, run: Run):
    """Writes OUT/gpu_suite.json and OUT/gpu_suite.md from what is measured so far."""

    def save() -> None:
        results["notes"] = run.notes
        (out / "gpu_suite.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        (out / "gpu_suite.md").write_text(markdown(results) + "\n")

    return save


def docs_from(folders: str) -> str:
    """Runs' gpu_suite.md (one call, or two for a run made in two parts) into docs/benchmarks.md."""
    for part, folder in enumerate(folders.split(",")):  # a second part goes after the first
        write_docs((Path(folder) / "gpu_suite.md").read_text().strip(), append=part > 0)
    return f"wrote {DOCS}'s GPU section from {folders}"


def main(argv: list[str]) -> dict:
    args, overrides = split_args(argv, DEFAULTS)
    if overrides:
        raise SystemExit(f"error: unknown arguments {overrides}: use {', '.join(DEFAULTS)}")
    if args["docs_from"]:
        print(docs_from(args["docs_from"]))
        return {}
    dry = args["dry_run"] == "true"
    if not dry and not torch.cuda.is_available():
        raise SystemExit("error: no GPU here (torch.cuda.is_available() is False): dry_run=true")
    sections = args["sections"].split(",")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"error: unknown sections {sorted(unknown)}: use {', '.join(SECTIONS)}")
    data_dir = Path(args["data_dir"]).expanduser().resolve()  # the same in every subprocess
    check_mnist(data_dir, sections)
    out = Path(args["out"]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    budget = float(args["time_budget_s"])
    with dry_run_settings(dry), tempfile.TemporaryDirectory() as tmp:
        run = Run(
            dry=dry,
            sizes=DRY if dry else Sizes(),
            data_dir=str(data_dir),
            batch_resnet=4 if dry else int(args["batch_resnet"]),
            batch_nin=8 if dry else int(args["batch_nin"]),
            tmp=Path(tmp),
            deadline=time.monotonic() + budget if budget > 0 else None,
        )
        print(preflight_line(run), flush=True)
        results = run.results
        results |= {"machine": machine(run), "seconds": {}}
        run.save = writer(out, results, run)
        run.save()
        if dry:  # the train.py commands beside the in-process sections: each only starts up
            run.started = {
                name: Command(run, name, o) for name, o in commands(run, sections).items()
            }
        try:
            for name in SECTIONS:
                if name in sections:
                    results[name] = timed_section(run, name, results["seconds"])
                    run.save()
        finally:
            for command in run.started.values():  # left over if a section failed
                command.process.kill()
                command.process.wait()
    run.save()
    text = markdown(results)
    print(text)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
