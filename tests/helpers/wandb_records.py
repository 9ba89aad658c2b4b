"""An offline wandb run's own records, read back with `wandb leet inspect --json`."""

import json
import subprocess
import sys


def read_records(run_dir) -> list[dict]:
    """The offline run's records, through this interpreter's wandb (no PATH needed)."""
    command = [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(run_dir)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
