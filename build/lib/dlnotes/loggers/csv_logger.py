"""A CSV logger that continues metrics.csv when a run resumes in its own directory.

Lightning's `CSVLogger` deletes an existing metrics.csv when it starts, so resuming a run in
its directory (`ckpt_path=last`) would lose the rows logged before the crash. Here those rows
stay and the resumed run's rows follow them (a new column rewrites the header, as Lightning
does for a fresh file).
"""

import csv

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class AppendingExperimentWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):  # keep it, and its columns
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                self.metrics_keys = next(csv.reader(file), [])


class ResumableCSVLogger(CSVLogger):
    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingExperimentWriter(log_dir=self.log_dir)
        return self._experiment
