"""`result.json` in a run's directory: how the job ended and what it measured.

Every run writes one (rank 0 only), finished or failed; after a sweep, `SweepSummary` reads
them into one table.
"""

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lightning.pytorch.utilities import rank_zero_only

from dlnotes.checkpoints.atomic_file import replaced_atomically
from dlnotes.config.job import job_info
from dlnotes.errors import TrainingInterrupted, one_line

RESULT_FILE = "result.json"


def _number(value):
    """JSON has no NaN: a diverged metric is written as the string "nan"."""
    return value if value is None or math.isfinite(value) else str(value)


@rank_zero_only
def write_job_result(output_dir: str, result: dict) -> None:
    with replaced_atomically(Path(output_dir) / RESULT_FILE) as file:
        file.write((json.dumps(result, indent=2) + "\n").encode())


def read_job_result(path: Path) -> dict:
    return json.loads(Path(path).read_text())


class JobRecord:
    """Filled in by the job; `recorded_job` writes it when the job ends, however it ends."""

    def __init__(self, output_dir: str, monitor: str | None):
        self.output_dir, self.monitor = str(output_dir), monitor
        self.monitored: float | None = None
        self.metrics: dict[str, float] = {}
        self.parameters: int | None = None

    def finished(
        self, monitored: float | None, metrics: dict[str, float], parameters: int | None = None
    ) -> None:
        self.monitored, self.metrics, self.parameters = monitored, metrics, parameters

    def as_dict(self, status: str, error: str | None, seconds: float) -> dict:
        return {
            **job_info(),
            "output_dir": self.output_dir,
            "status": status,
            "monitor": self.monitor,
            "monitored": _number(self.monitored),
            "metrics": {key: _number(value) for key, value in self.metrics.items()},
            "error": error,
            "duration_s": round(seconds, 1),
            "parameters": self.parameters,  # the model's (a sweep can minimize it)
        }


@contextmanager
def recorded_job(output_dir: str, monitor: str | None) -> Iterator[JobRecord]:
    """Write result.json with status "completed", or "failed" (or "interrupted": SIGTERM,
    Ctrl-C) and the error, then re-raise."""
    record, start = JobRecord(output_dir, monitor), time.monotonic()
    try:
        yield record
    except BaseException as error:
        interrupted = isinstance(error, KeyboardInterrupt | TrainingInterrupted)
        status = "interrupted" if interrupted else "failed"
        write_job_result(output_dir, record.as_dict(status, one_line(error), _since(start)))
        raise
    write_job_result(output_dir, record.as_dict("completed", None, _since(start)))


def _since(start: float) -> float:
    return time.monotonic() - start
