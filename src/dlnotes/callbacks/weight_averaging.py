"""Averaged weights, on Lightning's `WeightAveraging`: an exponential moving average (EMA) of
the weights after every optimizer step, or stochastic weight averaging (SWA): their plain mean
over every step from an epoch on.

Validation and test run on the averaged weights, and every checkpoint holds them in its
`state_dict` (the raw ones under `current_model_state`, which a resumed run trains on), so
eval.py, predict and export use the averaged weights without knowing of them.
"""

from lightning.pytorch.callbacks import EMAWeightAveraging, WeightAveraging

from dlnotes.errors import ConfigError


def ema(decay: float = 0.999, **options) -> EMAWeightAveraging:
    """Lightning's EMA: avg ← decay · avg + (1 − decay) · weights, after each optimizer step."""
    if not 0 < decay < 1:
        raise ConfigError(
            f"callbacks.ema.decay={decay}: the average keeps this share of itself at each step, "
            "so it lies strictly between 0 and 1 (e.g. 0.999)"
        )
    return EMAWeightAveraging(decay=decay, **options)


class StepsFromEpoch(WeightAveraging):
    """SWA: the plain mean (WeightAveraging's default average) of the weights after every
    optimizer step from epoch `start_epoch` on (0-based). The rate follows the run's own
    scheduler: SWA's constant or cyclic rate is a `model.scheduler` choice."""

    def __init__(self, start_epoch: int, **options):
        super().__init__(**options)
        self.start_epoch = start_epoch
        self.averaging = False

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.averaging = trainer.current_epoch >= self.start_epoch

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and self.averaging


def swa(start_epoch: int = 0, **options) -> StepsFromEpoch:
    if start_epoch < 0:
        raise ConfigError(
            f"callbacks.swa.start_epoch={start_epoch}: give the first epoch (0-based) whose "
            "weights enter the average"
        )
    return StepsFromEpoch(start_epoch, **options)
