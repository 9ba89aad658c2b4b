"""Inside an Optuna trial: report the monitored metric at each validation, stop when pruned.

The sweep asks the study for a trial and runs it as a Hydra job, possibly in another process or
on another machine, so the trial is reached through the study's storage. At the end of every
validation, rank 0 reports the metric (step = epoch) and asks the study's pruner; the answer is
shared with every rank, and a pruned trial stops training cleanly (the trainer's `should_stop`):
its checkpoints and test metrics are kept, and the epoch it stopped at is recorded in the study
(user attribute `pruned_at_epoch`), where the sweep reads it to mark the trial pruned.
"""

import logging

from hydra.utils import instantiate
from lightning.pytorch import Callback

from dlnotes.config.optuna_storage import open_storage

log = logging.getLogger(__name__)

PRUNED_AT_EPOCH = "pruned_at_epoch"  # the trial's user attribute: the epoch pruning stopped
OUTPUT_DIR = "output_dir"  # the trial's user attribute: its run directory


class OptunaPruning(Callback):
    def __init__(
        self, storage: str, study_name: str, trial_id: int, pruner, monitor: str, output_dir
    ):
        self.storage, self.study_name, self.trial_id = storage, study_name, trial_id
        self.pruner = pruner  # its config: a study is loaded with the default pruner otherwise
        self.monitor, self.output_dir = monitor, str(output_dir)
        self._trial = None  # optuna.Trial (optuna is imported only in a trial)

    def setup(self, trainer, pl_module, stage: str) -> None:
        if stage == "fit" and trainer.is_global_zero:
            import optuna

            storage = open_storage(self.storage)
            pruner = instantiate(self.pruner) if self.pruner else None
            study = optuna.load_study(study_name=self.study_name, storage=storage, pruner=pruner)
            trial = optuna.Trial(study, self.trial_id)
            trial.set_user_attr(OUTPUT_DIR, self.output_dir)
            # Optuna prunes single-objective studies only
            self._trial = trial if len(study.directions) == 1 else None

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        pruned = self._report(trainer) if trainer.is_global_zero else False
        if trainer.strategy.broadcast(pruned):  # every rank stops at the same epoch
            trainer.should_stop = True

    def _report(self, trainer) -> bool:
        value = trainer.callback_metrics.get(self.monitor)
        if self._trial is None or value is None:
            return False
        epoch = trainer.current_epoch
        self._trial.report(float(value), step=epoch)
        if not self._trial.should_prune():
            return False
        self._trial.set_user_attr(PRUNED_AT_EPOCH, epoch)
        number = self._trial.number
        log.info(f"trial {number} pruned at epoch {epoch}: {self.monitor} = {value:.4g}")
        return True
