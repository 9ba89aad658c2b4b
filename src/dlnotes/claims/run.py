"""Run a claim: (each arm's best learning rate from the grid, on a tuning seed), then each arm
over its seeds, as `python train.py -m` sweeps; record what they measured."""

import datetime
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
from hydra.utils import instantiate

from dlnotes.checkpoints.load import model_from_checkpoint
from dlnotes.claims.design import design, prepared_as_shown
from dlnotes.claims.measure import CENSORED, job_measure, max_epochs, never_reached, verdict
from dlnotes.claims.spec import Claim
from dlnotes.config.paths import repo_root
from dlnotes.sweeps.seed_stats import arm_stats
from dlnotes.sweeps.summary import collect_results

log = logging.getLogger(__name__)
ROOT = repo_root()
LR_KEY = "model.optimizer.lr"
# where the jobs' train.py and code are: a clean worktree of the recorded commit at full scale
jobs_root = ROOT


def job_environment() -> dict[str, str]:
    """The jobs import the package from `jobs_root`, not from this process's checkout."""
    return os.environ | {"PYTHONPATH": str(jobs_root / "src")}


def sweep(overrides: list[str], sweep_dir: Path) -> list[dict]:
    """`python train.py -m OVERRIDES` into `sweep_dir`; its jobs' results (failed ones too)."""
    command = [
        sys.executable,
        str(jobs_root / "train.py"),
        "-m",
        *overrides,
        f"hydra.sweep.dir={sweep_dir}",
    ]
    log.info("running: " + " ".join(command[1:]))
    done = subprocess.run(
        command, cwd=jobs_root, capture_output=True, text=True, env=job_environment()
    )
    results = collect_results(sweep_dir) if sweep_dir.is_dir() else []
    if not results:
        raise RuntimeError(f"the sweep ran no job: {done.stderr.strip()[-2000:]}")
    return results


def single_run(overrides: list[str], run_dir: Path) -> bool:
    """`python train.py OVERRIDES` into `run_dir`; whether it succeeded."""
    command = [sys.executable, str(jobs_root / "train.py"), *overrides, f"hydra.run.dir={run_dir}"]
    log.info("preparing: " + " ".join(command[1:]))
    done = subprocess.run(
        command, cwd=jobs_root, capture_output=True, text=True, env=job_environment()
    )
    if done.returncode != 0:
        log.error(done.stderr[-2000:])
    return done.returncode == 0


def prepared(claim: Claim, out: Path) -> list[str]:
    """Run the claim's prepare steps (one `python train.py` each); the overrides that hand
    their outputs to every job, e.g. model.fid_features=<run>/checkpoints/last.ckpt."""
    handed = []
    for step in claim.prepare:
        run_dir = out / "prepare" / slug(step["name"])
        if not single_run(step["overrides"], run_dir) or not (run_dir / step["file"]).is_file():
            raise RuntimeError(f"prepare step {step['name']!r} failed (its log: {run_dir})")
        handed.append(f"{step['pass_as']}={run_dir / step['file']}")
    return handed


def slug(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "_" for c in text).strip("_")


def best_rate(claim: Claim, arm, overrides: list[str], out: Path) -> tuple[float, dict]:
    """The grid's learning rate with the best `tune_on` (else the claim's measure) on the
    tuning seed (ties: the smaller; `tied_rates` says which tied)."""
    grid = ",".join(str(lr) for lr in claim.lr_grid)
    tune_on = claim.tune_on or {**claim.measure, "better": claim.better}
    results = sweep(
        [
            *overrides,
            *arm.overrides,
            *stop_once_reached(tune_on),
            f"{LR_KEY}={grid}",
            f"seed={claim.tune_seed}",
        ],
        out / "tune" / slug(arm.name),
    )
    scores = {}
    for result in results:
        lr = next(float(o.split("=")[1]) for o in result["overrides"] if o.startswith(LR_KEY))
        scores[lr] = job_measure(result, tune_on)
    sign = 1 if tune_on["better"] == "lower" else -1
    ranked = sorted(
        scores, key=lambda lr: (math.inf if math.isnan(scores[lr]) else sign * scores[lr], lr)
    )
    return ranked[0], scores


def stop_once_reached(measure: dict) -> list[str]:
    """A tuning run scored by the epoch it reached a threshold has its score once it does: it
    stops there (Lightning's EarlyStopping on the threshold alone). Other measures: none."""
    if measure["kind"] != "epochs_to":
        return []
    key = "+callbacks.stop_once_reached"
    return [
        f"{key}._target_=lightning.pytorch.callbacks.EarlyStopping",
        f"{key}.monitor={measure['metric']}",
        f"{key}.mode=max",
        f"{key}.stopping_threshold={measure['threshold']}",
        f"{key}.patience={10**9}",  # never for want of progress: only the threshold stops it
    ]


def tied_rates(tuning: dict, chosen: float | None) -> list[float]:
    """The rates that share the chosen one's score: more than one is a tie, and is reported."""
    if chosen is None:
        return []
    return sorted(lr for lr in tuning if _same(tuning[lr], tuning[chosen]))


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def run_claim(claim: Claim, scale: str, out: Path) -> dict:
    start, started = time.monotonic(), now()
    measured_on = provenance()  # the code the jobs start from
    claim = claim.at_scale(scale)
    overrides = [*claim.common, *prepared(claim, out)]
    arms = []
    for arm in claim.arms:
        rate, tuning = best_rate(claim, arm, overrides, out) if claim.lr_grid else (None, {})
        chosen = [f"{LR_KEY}={rate}"] if rate is not None else []
        seeds = ",".join(str(seed) for seed in claim.seeds)
        results = sweep(
            [*overrides, *arm.overrides, *chosen, f"seed={seeds}"], out / slug(arm.name)
        )
        add_after_training_metrics(claim, results)
        values = [job_measure(result, claim.measure) for result in results]
        params = parameter_count(results)
        also = {m: [(r.get("metrics") or {}).get(m, math.nan) for r in results] for m in claim.also}
        arms.append(
            {
                "name": arm.name,
                "overrides": arm.overrides,
                "lr": rate,
                "tuning": tuning,
                "tied_rates": tied_rates(tuning, rate),
                "parameters": params,
                "values": values,
                "also": also,
                "failed": sum(r["status"] != "completed" for r in results),
                **censoring(claim, results),
            }
        )
    record = {
        "claim": claim.name,
        "scale": scale,
        "overrides": [*claim.common, *prepared_as_shown(claim)],  # as the report shows them
        "prepare": [{"name": s["name"], "overrides": s["overrides"]} for s in claim.prepare],
        "measure": claim.measure,  # as measured: the report reads it, whatever the file says later
        "design": design(claim),  # the report checks the claim file still reads this way
        "arms": arms,
        "comparison": compare(claim, arms),
        **measured_on,
        "wall_s": round(time.monotonic() - start, 1),
        "started": started,
        "ended": now(),
        "load_average_end": os.getloadavg()[0],  # beside load_average_start: was it alone?
    }
    for arm in arms:
        summarise(arm)
    return record


def censoring(claim: Claim, results: list[dict]) -> dict:
    """For epochs to a threshold: the epochs a run had (a censored run reached it in none)."""
    if claim.measure["kind"] != "epochs_to" or not results:
        return {}
    return {"censored_at": max_epochs(results[0]["output_dir"])}


def compare(claim: Claim, arms: list[dict]) -> dict:
    """The verdict of the first arm against the second; in its strong form when the second
    never reached the threshold, at any rate of its grid, and the first always did."""
    other = arms[1]["values"] if len(arms) > 1 else None
    comparison = verdict(arms[0]["values"], other, claim.better)
    if other is None or claim.measure["kind"] != "epochs_to":
        return comparison
    grid = list(arms[1]["tuning"].values()) or other
    if never_reached(other) and never_reached(grid) and CENSORED not in arms[0]["values"]:
        epochs, threshold = arms[1]["censored_at"], claim.measure["threshold"]
        rates = "at any rate of its grid" if arms[1]["tuning"] else "at its rate"
        comparison["verdict"] = (
            f"holds, strong form: {arms[1]['name']} never reached {claim.measure['metric']}"
            f" ≥ {threshold} within {epochs} epochs {rates}, {arms[0]['name']} in every run"
        )
    return comparison


def summarise(arm: dict) -> None:
    """n, mean and interval of the arm's values; with censored runs the mean is not defined:
    the runs that reached the threshold are counted, and the censored values written null."""
    values = [v for v in arm["values"] if not math.isnan(v)]
    censored = [v for v in values if v == CENSORED]
    if censored:
        arm["n"], arm["mean"], arm["ci"] = len(values), None, [None, None]
        arm["reached"] = len(values) - len(censored)
    else:
        summary = arm_stats(values or [math.nan])
        arm["n"], arm["mean"], arm["ci"] = summary.n, summary.mean, [summary.low, summary.high]
    arm["values"] = [None if v == CENSORED else v for v in arm["values"]]
    arm["tuning"] = {lr: (None if v == CENSORED else v) for lr, v in arm["tuning"].items()}


def add_after_training_metrics(claim: Claim, results: list[dict]) -> None:
    """Each completed job's metrics, plus what the claim's `after_training` call measures."""
    if claim.after_training is None:
        return
    measure_more = instantiate(claim.after_training)
    for result in results:
        if result["status"] == "completed":
            result.setdefault("metrics", {}).update(measure_more(Path(result["output_dir"])))


def parameter_count(results: list[dict]) -> int | None:
    """The trained model's parameters (from a job's last checkpoint), as the arm ran it."""
    for result in results:
        path = Path(result["output_dir"]) / "checkpoints" / "last.ckpt"
        if path.is_file():
            return sum(p.numel() for p in model_from_checkpoint(path).parameters())
    return None


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def cpu_model() -> str:
    """The CPU's name, as Linux reports it (else the platform's)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def provenance() -> dict:
    """The commit the jobs run (with +changes when they run an edited tree), the machine, and
    the load average when the claim starts (near 0 on a machine left to it)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=jobs_root, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {
        "date": datetime.date.today().isoformat(),
        "commit": git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}, "
        f"torch {torch.__version__.split('+')[0]}",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_start": os.getloadavg()[0],
    }


def write_record(record: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=float) + "\n")
