"""Stop with a clear error when a loss becomes nan or inf.

Training on would only waste the remaining epochs (and, in a sweep, the trial): the error
fails the job, the last good checkpoint stays, and Optuna records the trial as failed.
"""

import math

from lightning.pytorch import Callback

from dlnotes.errors import TrainingDiverged


def non_finite_loss(metrics: dict, stage: str) -> tuple[str, float] | None:
    """The first logged `<stage>/*loss*` value that is nan or inf, if any."""
    for key, value in metrics.items():
        if key.startswith(f"{stage}/") and "loss" in key and not math.isfinite(float(value)):
            return key, float(value)
    return None


class StopOnDivergence(Callback):
    """Check the training losses every `every_n_steps` batches (default: as often as the
    trainer logs) and at the end of each epoch, and the validation losses after validation."""

    def __init__(self, every_n_steps: int | None = None):
        self.every_n_steps = every_n_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        every = self.every_n_steps or trainer.log_every_n_steps or 1
        if (batch_idx + 1) % every == 0 or trainer.is_last_batch:
            self._check(trainer, "train")

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._check(trainer, "val")

    @staticmethod
    def _check(trainer, stage: str) -> None:
        found = non_finite_loss(trainer.callback_metrics, stage)
        if found is not None:
            key, value = found
            raise TrainingDiverged(
                f"training diverged: {key} = {value} at epoch {trainer.current_epoch}, step "
                f"{trainer.global_step}; try a lower learning rate or gradient clipping"
            )
