"""After an experiment's sweep: its curves in one figure, and when each job reached a target.

Each job's metrics.csv (the CSV logger) gives the metric per epoch; the figure
`<sweep dir>/<name>.png` has one panel per metric and one line per job, labelled by the
overrides that differ between jobs. With `threshold`, `<name>.md` also lists the first epoch
at which the first metric reached it. Jobs that differ only in `seed` are one arm: one line,
their mean per epoch, with a band for its 95% confidence interval.
`python -m dlnotes.sweeps.figure SWEEP_DIR METRIC...` draws it again from a finished
sweep.
"""

import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from hydra.experimental.callback import Callback  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from dlnotes.sweeps.seed_stats import arm_stats, group_by_arm, has_repeats  # noqa: E402
from dlnotes.sweeps.summary import collect_results, shared_overrides  # noqa: E402


def epoch_curve(metrics_csv: Path, metric: str) -> tuple[list[int], list[float]]:
    """(epochs, values) of the rows where `metric` was logged (once per epoch)."""
    epochs, values = [], []
    with open(metrics_csv) as file:
        for row in csv.DictReader(file):
            if row.get(metric):
                epochs.append(int(row["epoch"]) + 1)  # 1-based: after the first epoch
                values.append(float(row[metric]))
    return epochs, values


def job_label(result: dict, common: list[str]) -> str:
    varying = [
        o.split("=", 1)[-1] if "=" in o else o for o in result["overrides"] if o not in common
    ]
    keys = [o.split("=", 1)[0].split(".")[-1] for o in result["overrides"] if o not in common]
    return ", ".join(f"{k}={v}" for k, v in zip(keys, varying, strict=True)) or str(result["job"])


def first_epoch_reaching(epochs: list[int], values: list[float], threshold: float, mode: str):
    for epoch, value in zip(epochs, values, strict=True):
        if (value >= threshold) if mode == "max" else (value <= threshold):
            return epoch
    return None


def draw(sweep_dir: Path, metrics: list[str], name: str = "curves", threshold=None, mode="max"):
    """Write <name>.png (and <name>.md with `threshold`); return the Markdown table."""
    results = [
        r for r in collect_results(sweep_dir) if (Path(r["output_dir"]) / "metrics.csv").is_file()
    ]
    common = shared_overrides(results)
    arms = group_by_arm(results, common)
    if has_repeats(arms):
        return draw_arms(sweep_dir, arms, metrics, name, threshold, mode)
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    reach = f" epoch reaching {threshold} |" if threshold is not None else ""
    lines = [
        f"| job | {metrics[0]} final | best |{reach}",
        "|---|---|---|" + ("---|" * bool(reach)),
    ]
    for result in results:
        label = job_label(result, common)
        for axis, metric in zip(axes[0], metrics, strict=True):
            epochs, values = epoch_curve(Path(result["output_dir"]) / "metrics.csv", metric)
            axis.plot(epochs, values, marker="o", markersize=3, label=label)
            axis.set(xlabel="epoch", title=metric)
        epochs, values = epoch_curve(Path(result["output_dir"]) / "metrics.csv", metrics[0])
        best = (max if mode == "max" else min)(values) if values else None
        reached = first_epoch_reaching(epochs, values, threshold, mode) if threshold else None
        final = values[-1] if values else None
        row = f"| {label} | {final:.4f} | {best:.4f} |"
        lines.append(row + (f" {reached or 'not reached'} |" if reach else ""))
    return save(figure, axes, lines, sweep_dir, name)


def save(figure, axes, lines: list[str], sweep_dir: Path, name: str) -> str:
    """<name>.png and <name>.md in the sweep directory; returns the table."""
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(sweep_dir / f"{name}.png", dpi=120)
    plt.close(figure)
    table = "\n".join(lines) + "\n"
    (sweep_dir / f"{name}.md").write_text(table)
    return table


def mean_curve(jobs: list[dict], metric: str):
    """(epochs every job logged, mean, CI low, CI high) of `metric` over the jobs (seeds)."""
    curves = [
        dict(zip(*epoch_curve(Path(j["output_dir"]) / "metrics.csv", metric), strict=True))
        for j in jobs
    ]
    epochs = sorted(set.intersection(*(set(curve) for curve in curves)))
    summaries = [arm_stats([curve[epoch] for curve in curves]) for epoch in epochs]
    return (
        epochs,
        [s.mean for s in summaries],
        [s.low for s in summaries],
        [s.high for s in summaries],
    )


def draw_arms(sweep_dir: Path, arms: dict, metrics: list[str], name: str, threshold, mode):
    """One line per arm (the mean over its seeds) with a 95% confidence band."""
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    reach = f" epochs reaching {threshold}, per seed |" if threshold is not None else ""
    lines = [
        f"| arm | n | {metrics[0]} final, mean [95% CI] |{reach}",
        "|---|---|---|" + ("---|" * bool(reach)),
    ]
    for arm, jobs in arms.items():
        for axis, metric in zip(axes[0], metrics, strict=True):
            epochs, mean, low, high = mean_curve(jobs, metric)
            (line,) = axis.plot(
                epochs, mean, marker="o", markersize=3, label=f"{arm} (n={len(jobs)})"
            )
            axis.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
            axis.set(xlabel="epoch", title=f"{metric} (mean, 95% CI)")
        finals = [
            epoch_curve(Path(j["output_dir"]) / "metrics.csv", metrics[0])[1][-1] for j in jobs
        ]
        final = arm_stats(finals)
        row = f"| {arm} | {final.n} | {final.mean:.4f} [{final.low:.4f}, {final.high:.4f}] |"
        if reach:
            reached = [
                first_epoch_reaching(
                    *epoch_curve(Path(j["output_dir"]) / "metrics.csv", metrics[0]), threshold, mode
                )
                for j in jobs
            ]
            row += " " + ", ".join(str(r or "not reached") for r in reached) + " |"
        lines.append(row)
    return save(figure, axes, lines, sweep_dir, name)


class SweepFigure(Callback):
    def __init__(self, metrics: list[str], name: str = "curves", threshold=None, mode="max"):
        self.metrics, self.name, self.threshold, self.mode = list(metrics), name, threshold, mode

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        print(draw(sweep_dir, self.metrics, self.name, self.threshold, self.mode))
        print(f"figure: {sweep_dir / self.name}.png")


if __name__ == "__main__":
    print(draw(Path(sys.argv[1]), sys.argv[2:]))
