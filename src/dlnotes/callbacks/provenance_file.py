"""Hydra callback: provenance.json in every run directory, before the job's code runs.

Every entry point composes `hydra: default`, which lists this callback, so train, eval, sample,
predict, export and inspect runs (and each job of a sweep) all get one. Only rank 0 writes it.
"""

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from dlnotes.utils.provenance import write_provenance
from dlnotes.utils.resolvers import process_rank


class ProvenanceFile(Callback):
    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        if process_rank() == 0:
            write_provenance(config.hydra.runtime.output_dir)
