"""After `python train.py -m ...`: one table of the sweep's jobs, in the sweep directory.

Each job leaves a result.json in its directory (finished or failed). This Hydra callback
gathers them into summary.csv and summary.md, one row per job with its overrides, status,
monitored and test metrics, and run directory: after each job (so a long sweep shows its
progress, and a sweep stopped by a failed job keeps its table) and at the end, when it also
prints the table. When jobs differ only in `seed` (besides the compared settings), the seeds
are grouped into arms: arms.csv and a second table in summary.md give each arm's n, mean, std
and 95% confidence interval, and each arm against the first (`sweeps/seed_stats.py`).
An Optuna sweep's table has one row per trial of its study instead (`sweeps/study_results.py`).
"""

import csv
import logging
import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from dlnotes.run.result import RESULT_FILE, read_job_result
from dlnotes.sweeps.seed_stats import arm_markdown, arm_table, group_by_arm, has_repeats
from dlnotes.sweeps.study_results import study_results

log = logging.getLogger(__name__)

SHOWN_METRICS = ("test/",)  # besides the monitored metric, columns for these prefixes
TRIAL_COLUMNS = ("pruned_at_epoch", "pareto")  # an Optuna trial's, when any trial has them


def collect_results(sweep_dir: Path) -> list[dict]:
    """The jobs' results under `sweep_dir`, in job order."""
    results = [read_job_result(path) for path in Path(sweep_dir).rglob(RESULT_FILE)]
    return sorted(results, key=lambda r: (r.get("job") is None, r.get("job") or 0))


def metric_columns(results: list[dict]) -> list[str]:
    monitors = sorted({r["monitor"] for r in results if r.get("monitor")})
    tested = sorted(
        {key for r in results for key in r.get("metrics", {}) if key.startswith(SHOWN_METRICS)}
    )
    return monitors + [key for key in tested if key not in monitors]


def shared_overrides(results: list[dict]) -> list[str]:
    """Overrides every job has: said once above the table, not in each row."""
    sets = [set(r.get("overrides") or []) for r in results]
    common = set.intersection(*sets) if sets else set()
    return [o for o in (results[0].get("overrides") or []) if o in common] if results else []


def _value(result: dict, column: str):
    if column == result.get("monitor") and result.get("monitored") is not None:
        return result["monitored"]
    return result.get("metrics", {}).get(column, result.get(column))  # or duration_s, ...


def rows(results: list[dict], columns: list[str]) -> list[dict]:
    extra = [key for key in TRIAL_COLUMNS if any(key in r for r in results)]
    return [
        {
            **({"trial": r["trial"]} if "trial" in r else {"job": r.get("job")}),
            "overrides": " ".join(r.get("overrides") or []),
            "status": r["status"],
            **{column: _value(r, column) for column in columns},
            **{key: r.get(key) for key in extra},
            "error": r.get("error") or "",
            "output_dir": r["output_dir"],
        }
        for r in results
    ]


def _replace(path: Path, write) -> None:
    """Write through a temporary file: jobs running in parallel never leave half a table."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with open(temporary, "w", newline="") as file:
        write(file)
    os.replace(temporary, path)


def write_csv(table: list[dict], path: Path) -> None:
    def write(file):
        writer = csv.DictWriter(file, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)

    _replace(path, write)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value).replace("|", "\\|")


def markdown(table: list[dict], common: list[str], sweep_dir: Path, headline: str = "") -> str:
    header = [key for key in table[0] if key != "output_dir"] + ["run"]
    lines = [
        f"Sweep {sweep_dir}" + (f" (every job: {' '.join(common)})" if common else ""),
        *([headline] if headline else []),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in table:
        shown = dict(row)
        shown["overrides"] = " ".join(o for o in row["overrides"].split() if o not in common)
        shown["run"] = _run_name(Path(row["output_dir"]), sweep_dir)
        lines.append("| " + " | ".join(_cell(shown[key]) for key in header) + " |")
    return "\n".join(lines) + "\n"


def _run_name(output_dir: Path, sweep_dir: Path) -> str:
    """The run's folder: its name in this sweep, its path from an earlier sweep's trials."""
    if output_dir == Path():  # a trial that never reached its job
        return ""
    return output_dir.name if output_dir.parent == Path(sweep_dir) else str(output_dir)


def write_summary(sweep_dir: Path) -> tuple[list[dict], str]:
    """Write summary.csv and summary.md in `sweep_dir`; return the table and its Markdown."""
    sweep_dir = Path(sweep_dir)
    from_study = study_results(sweep_dir)
    results, headline, objectives = from_study or (collect_results(sweep_dir), "", [])
    if not results:
        return [], ""
    columns = metric_columns(results)
    columns += [name for name in objectives if name not in columns]
    table = rows(results, columns)
    write_csv(table, sweep_dir / "summary.csv")
    common = shared_overrides(results)
    text = markdown(table, common, sweep_dir, headline)
    arms = group_by_arm(results, common)
    if has_repeats(arms) and not from_study:  # a study's repeats are the sampler's, not seeds
        by_arm = arm_table(arms, columns, _value)
        write_csv(by_arm, sweep_dir / "arms.csv")
        text += "\n" + arm_markdown(by_arm)
    _replace(sweep_dir / "summary.md", lambda file: file.write(text))
    return table, text


class SweepSummary(Callback):
    def on_job_end(self, config: DictConfig, job_return, **kwargs) -> None:
        hydra_cfg = HydraConfig.get()
        if hydra_cfg.mode is not None and hydra_cfg.mode.name == "MULTIRUN":
            write_summary(Path(hydra_cfg.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table, text = write_summary(sweep_dir)
        if not table:
            return
        print("\n" + text)
        failed = sum(row["status"] in ("failed", "interrupted") for row in table)
        if failed:
            log.warning(f"{failed} of {len(table)} jobs failed: their errors are in the table")
        log.info(f"sweep summary: {sweep_dir / 'summary.csv'} and summary.md")
