"""Start-up: `python train.py ...` to its first training step, against importing torch,
Lightning and torchvision alone.

    python benchmarks/startup.py [repeats=5] [TRAIN.PY OVERRIDES ...]   (default: logger=csv)

Each run is a fresh interpreter. The first step is marked by a callback added through Hydra
(benchmarks/first_step.py), which prints the time and exits. Prints the medians and our own
share: time to the first step minus the imports' time (the bar: at most 1.5 s).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from harness import ROOT, machine, split_args

DEFAULTS = {"repeats": "5"}
IMPORTS = "import torch, torchvision, lightning"


def seconds_to_import() -> float:
    start = time.time()
    subprocess.run([sys.executable, "-c", IMPORTS], check=True)
    return time.time() - start


def seconds_to_first_step(overrides: list[str], run_dir: str) -> tuple[float, str]:
    """Seconds from the command to its first training step, and the optional packages
    (wandb, optuna, OpenCV, ...) it had imported by then."""
    env = os.environ | {"PYTHONPATH": str(ROOT / "benchmarks"), "WANDB_MODE": "offline"}
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        *overrides,
        "+callbacks.first_step._target_=first_step.ExitAtFirstStep",
        f"hydra.run.dir={run_dir}",
    ]
    start = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    marks = dict(
        line.split(" ", 1)
        for line in done.stdout.splitlines()
        if line.startswith(("FIRST_STEP_AT ", "OPTIONAL_LOADED "))
    )
    if "FIRST_STEP_AT" not in marks:
        raise RuntimeError(f"train.py ended before a training step:\n{done.stderr[-3000:]}")
    return float(marks["FIRST_STEP_AT"]) - start, marks["OPTIONAL_LOADED"]


def main(argv: list[str]) -> dict:
    args, overrides = split_args(argv, DEFAULTS)
    repeats = int(args["repeats"])
    overrides = overrides or ["logger=csv"]
    print(f"{machine()}\ntrain.py {' '.join(overrides)}")
    imports, first_step = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):  # alternated, so both see the same machine load
            imports.append(seconds_to_import())
            seconds, loaded = seconds_to_first_step(overrides, f"{tmp}/{i}")
            first_step.append(seconds)
    result = {"imports": statistics.median(imports), "first_step": statistics.median(first_step)}
    result["ours"] = result["first_step"] - result["imports"]
    result["optional_loaded"] = loaded
    print(f"python -c '{IMPORTS}': {result['imports']:.2f} s (median of {repeats})")
    print(f"python train.py … to the first step: {result['first_step']:.2f} s")
    print(f"our own start-up on top of the imports: {result['ours']:.2f} s")
    print(f"optional packages imported by the first step: {loaded}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
