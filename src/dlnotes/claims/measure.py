"""What a claim compares: one number per job, and the verdict over the two arms' seeds.

Epochs to a threshold are censored: a run that never reached it within its epochs has no
number, only "more than N" (`CENSORED`, math.inf here, null in a record); it is never averaged
as N + 1. Arms with censored runs are compared by ranks (Mann–Whitney U, the censored runs
ranked last, tied), and an arm none of whose runs reached the threshold is said to be so.
"""

import math
from pathlib import Path

from omegaconf import OmegaConf
from scipy import stats

from dlnotes.sweeps.figure import epoch_curve, first_epoch_reaching
from dlnotes.sweeps.seed_stats import CONFIDENCE, Difference, one_sample, welch

CENSORED = math.inf  # "did not reach the threshold within its epochs"


def max_epochs(output_dir: Path) -> int:
    return int(OmegaConf.load(Path(output_dir) / ".hydra" / "config.yaml").trainer.max_epochs)


def job_measure(result: dict, measure: dict) -> float:
    """The claim's number for one job.

    final: a metric at the end of training (nan if the job failed); gap: `metric` − `minus`
    (e.g. train − validation accuracy); epochs_to: the first epoch (1-based) at which `metric`
    reached `threshold`, and CENSORED if it never did (a failed job never did)."""
    metrics = result.get("metrics") or {}
    kind, metric = measure["kind"], measure["metric"]
    if kind == "epochs_to":
        metrics_csv = Path(result["output_dir"]) / "metrics.csv"
        reached = None
        if result["status"] == "completed" and metrics_csv.is_file():
            epochs, values = epoch_curve(metrics_csv, metric)
            reached = first_epoch_reaching(epochs, values, measure["threshold"], "max")
        return float(reached) if reached else CENSORED
    if result["status"] != "completed" or metric not in metrics:
        return math.nan
    if kind == "gap":
        return metrics[metric] - metrics[measure["minus"]]
    return metrics[metric]


def verdict(claimed: list[float], other: list[float] | None, better: str) -> dict:
    """Does the claimed arm beat the other beyond the seed-to-seed noise (Welch's t-test)?
    With no other arm (`other` None), the claimed arm's values are paired differences of two
    metrics of the same runs, tested against 0 (one-sample t-test); `better: nonzero` asks
    only that they differ."""
    claimed = [v for v in claimed if not math.isnan(v)]
    if other is not None and CENSORED in [*claimed, *other]:
        return censored_verdict(claimed, [v for v in other if not math.isnan(v)], better)
    if other is None:
        test, name = one_sample(claimed), "one-sample t-test"
    else:
        test, name = welch([v for v in other if not math.isnan(v)], claimed), "Welch's t-test"
    if test is None:
        return {"verdict": "not resolved (fewer than 2 runs in an arm)"}
    return {**word(test, better), "test": name}


def word(test: Difference, better: str) -> dict:
    right_way = {
        "lower": test.difference < 0,
        "higher": test.difference > 0,
        "nonzero": test.difference != 0,
    }[better]
    if not test.outside_noise:
        verdict = "not resolved (within noise)"
    else:
        verdict = "holds" if right_way else "does not hold"
    return {
        "verdict": verdict,
        "difference": test.difference,
        "difference_ci": [test.low, test.high],
        "p_value": test.p_value,
        "confidence": CONFIDENCE,
    }


def censored_verdict(claimed: list[float], other: list[float], better: str) -> dict:
    """Arms with runs that never reached the threshold: ranks, not means (Mann–Whitney U,
    one-sided each way; censored runs tie above every run that reached it)."""
    if len(claimed) < 2 or len(other) < 2:
        return {"verdict": "not resolved (fewer than 2 runs in an arm)"}
    toward = "less" if better == "lower" else "greater"
    away = "greater" if toward == "less" else "less"
    p_right = float(stats.mannwhitneyu(claimed, other, alternative=toward).pvalue)
    p_wrong = float(stats.mannwhitneyu(claimed, other, alternative=away).pvalue)
    alpha = 1 - CONFIDENCE
    if p_right < alpha:
        verdict, p = "holds", p_right
    elif p_wrong < alpha:
        verdict, p = "does not hold", p_wrong
    else:
        verdict, p = "not resolved (within noise)", min(p_right, p_wrong)
    return {
        "verdict": verdict,
        "p_value": p,
        "test": "Mann–Whitney U on ranks (runs that never reached the threshold ranked last)",
        "reached": [sum(math.isfinite(v) for v in claimed), sum(math.isfinite(v) for v in other)],
        "confidence": CONFIDENCE,
    }


def never_reached(values: list[float]) -> bool:
    """No run of the arm reached the threshold (all censored)."""
    return bool(values) and all(v == CENSORED for v in values)
