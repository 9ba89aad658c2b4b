"""An offline wandb run's own records, read back with `wandb leet inspect --json`, and the
parts tests look at (records of one type, the history, the config, the summary)."""

import json
import subprocess
import sys


def read_records(run_dir) -> list[dict]:
    """The offline run's records, through this interpreter's wandb (no PATH needed)."""
    command = [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(run_dir)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def of_type(records, kind: str) -> list[dict]:
    return [record[kind] for record in records if record.get("type") == kind]


def history_rows(records) -> list[dict]:
    return [h["item"] for h in of_type(records, "history")]


def history_items(records) -> dict:
    """Every key the history ever logged, with its last value."""
    items = {}
    for row in history_rows(records):
        items.update(row)
    return items


def logged_config(records) -> dict:
    """The run's config, its updates applied in order."""
    config = {}
    for update in of_type(records, "config"):
        config.update(update["update"])
    return config


def final_summary(records) -> dict:
    summary = {}
    for update in of_type(records, "summary"):
        summary.update(update.get("update", {}))
    return summary
