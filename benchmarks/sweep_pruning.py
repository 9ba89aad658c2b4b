"""Pruning: the same seeded Optuna sweep of NIN on the bundled digits, without a pruner and
with the median pruner, one after the other.

    python benchmarks/sweep_pruning.py [n_trials=20] [TRAIN.PY OVERRIDES ...]
        (default overrides: trainer.max_epochs=6 data.image_size=16)

Prints, for each: wall time, best val/acc, trials completed and pruned, epochs trained in all;
and the pruned sweep's time as a share of the unpruned one.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, machine, split_args, with_defaults

from dlnotes.sweeps.study import load_study

DEFAULTS = {"n_trials": "20"}
OVERRIDES = ["trainer.max_epochs=6", "data.image_size=16"]
QUIET = ["logger=csv", "callbacks.progress_bar=null", "callbacks.model_summary=null"]


def run_sweep(pruner: str, n_trials: str, overrides: list[str], log_dir: Path) -> dict:
    journal = log_dir / f"{pruner}.log"
    command = [sys.executable, str(ROOT / "train.py"), "hparams_search=nin_optuna"]
    command += [f"hydra/sweeper/pruner={pruner}", f"hydra.sweeper.n_trials={n_trials}"]
    command += [f"hydra.sweeper.storage={journal}", *QUIET, *overrides]
    command += [f"paths.log_dir={log_dir / pruner}"]
    start = time.time()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.time() - start
    study = load_study(str(journal), "nin_optuna")  # as the sweep opened it
    states = [t.state.name for t in study.trials]
    return {
        "pruner": pruner,
        "seconds": seconds,
        "best val/acc": study.best_value,
        "completed": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "epochs": sum(len(t.intermediate_values) for t in study.trials),
    }


def main() -> None:
    options, overrides = split_args(sys.argv[1:], DEFAULTS)
    overrides = with_defaults(overrides, OVERRIDES)
    print(f"{machine()}; n_trials={options['n_trials']}; {' '.join(overrides)}")
    with tempfile.TemporaryDirectory() as folder:
        rows = [
            run_sweep(p, options["n_trials"], overrides, Path(folder)) for p in ("none", "median")
        ]
    print("| pruner | wall time | best val/acc | completed | pruned | failed | epochs trained |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['pruner']} | {r['seconds']:.0f} s | {r['best val/acc']:.4f} | {r['completed']}"
            f" | {r['pruned']} | {r['failed']} | {r['epochs']} |"
        )
    print(f"median pruner / none: {rows[1]['seconds'] / rows[0]['seconds']:.2f} of the time")


if __name__ == "__main__":
    main()
