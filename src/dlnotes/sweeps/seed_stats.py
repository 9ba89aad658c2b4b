"""Jobs of a sweep that differ only in `seed` (or `data.fold`) are repeats of one arm: their
mean, spread and 95% confidence interval per metric, and whether an arm differs from the first
one beyond the seed-to-seed noise (Welch's t-test: no equal-variance assumption). Folds share
their data, so an interval over folds is narrower than independent repeats would give.

`python train.py -m model.net.norm=batchnorm,none seed=1,2,3` has two arms of three repeats.
"""

import math
from dataclasses import dataclass

from scipy import stats

SEED_KEYS = ("seed", "data.fold")  # repeats of an arm: seeds, or the folds of a k-fold sweep
CONFIDENCE = 0.95


def override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def arm_label(overrides: list[str], common: list[str]) -> str:
    """The overrides that make an arm, without the seed and what every job shares."""
    kept = [o for o in overrides if override_key(o) not in SEED_KEYS and o not in common]
    return " ".join(kept) or "all jobs"


def group_by_arm(results: list[dict], common: list[str]) -> dict[str, list[dict]]:
    """Completed jobs by arm, arms in the order their first job ran."""
    arms: dict[str, list[dict]] = {}
    for result in results:
        if result.get("status") == "completed":
            arms.setdefault(arm_label(result.get("overrides") or [], common), []).append(result)
    return arms


def has_repeats(arms: dict[str, list[dict]]) -> bool:
    return any(len(jobs) > 1 for jobs in arms.values())


@dataclass(frozen=True)
class ArmStats:
    n: int
    mean: float
    std: float  # sample standard deviation (n - 1); nan for one run
    low: float  # 95% confidence interval of the mean (Student's t); nan for one run
    high: float


def arm_stats(values: list[float]) -> ArmStats:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return ArmStats(n, mean, math.nan, math.nan, math.nan)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * std / math.sqrt(n)
    return ArmStats(n, mean, std, mean - half, mean + half)


@dataclass(frozen=True)
class Difference:
    """`arm` minus `reference`: the difference of means, its 95% interval and Welch's p."""

    difference: float
    low: float
    high: float
    p_value: float

    @property
    def outside_noise(self) -> bool:
        return self.p_value < 1 - CONFIDENCE


def welch(reference: list[float], arm: list[float]) -> Difference | None:
    """None when either arm has fewer than 2 runs (no spread to compare against)."""
    if len(reference) < 2 or len(arm) < 2:
        return None
    difference = sum(arm) / len(arm) - sum(reference) / len(reference)
    if max(reference) == min(reference) and max(arm) == min(arm):  # no spread at all
        p = 1.0 if difference == 0 else 0.0
        return Difference(difference, difference, difference, p)
    test = stats.ttest_ind(arm, reference, equal_var=False)
    interval = test.confidence_interval(CONFIDENCE)
    return Difference(difference, float(interval.low), float(interval.high), float(test.pvalue))


def one_sample(values: list[float]) -> Difference | None:
    """The mean of `values` (e.g. per-seed differences of two metrics of the same runs) against
    0: its 95% interval and the one-sample t-test's p. None with fewer than 2 values."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    if max(values) == min(values):
        return Difference(mean, mean, mean, 1.0 if mean == 0 else 0.0)
    test = stats.ttest_1samp(values, 0.0)
    interval = test.confidence_interval(CONFIDENCE)
    return Difference(mean, float(interval.low), float(interval.high), float(test.pvalue))


def metric_values(jobs: list[dict], column: str, value_of) -> list[float]:
    """`value_of(job, column)` of each job that has it."""
    values = [value_of(job, column) for job in jobs]
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def arm_table(arms: dict[str, list[dict]], columns: list[str], value_of) -> list[dict]:
    """One row per arm and metric: n, mean, std, CI, and the difference from the first arm."""
    rows = []
    names = list(arms)
    for column in columns:
        reference = metric_values(arms[names[0]], column, value_of)
        for name in names:
            values = metric_values(arms[name], column, value_of)
            if not values:
                continue
            summary = arm_stats(values)
            versus = welch(reference, values) if name != names[0] else None
            rows.append(
                {
                    "metric": column,
                    "arm": name,
                    "n": summary.n,
                    "mean": summary.mean,
                    "std": summary.std,
                    "ci_low": summary.low,
                    "ci_high": summary.high,
                    "vs": names[0] if versus else "",
                    "difference": versus.difference if versus else None,
                    "diff_ci_low": versus.low if versus else None,
                    "diff_ci_high": versus.high if versus else None,
                    "p_value": versus.p_value if versus else None,
                    "outside_noise": versus.outside_noise if versus else None,
                }
            )
    return rows


def arm_markdown(rows: list[dict]) -> str:
    """The arm table as Markdown: mean ± half-interval, and the verdict against the first arm."""

    def number(value) -> str:
        return "" if value is None or math.isnan(value) else f"{value:.4g}"

    lines = [
        f"Seeds grouped: n, mean, std and {CONFIDENCE:.0%} confidence interval per arm; each arm "
        f"against the first (Welch's t-test, difference with its {CONFIDENCE:.0%} interval)",
        "",
        "| metric | arm | n | mean | std | 95% CI | vs first arm | p | outside the noise |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        interval = f"[{number(row['ci_low'])}, {number(row['ci_high'])}]" if row["n"] > 1 else ""
        versus = ""
        if row["difference"] is not None:
            low, high = number(row["diff_ci_low"]), number(row["diff_ci_high"])
            versus = f"{row['difference']:+.4g} [{low}, {high}]"
        verdict = {True: "yes", False: "no", None: ""}[row["outside_noise"]]
        cells = [row["metric"], row["arm"].replace("|", "\\|"), str(row["n"]),
                 number(row["mean"]), number(row["std"]), interval, versus,
                 number(row["p_value"]), verdict]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
