"""Averaged weights, with Lightning's own callbacks: an exponential moving average (EMA) of the
weights after every optimizer step, or stochastic weight averaging (SWA) over the last epochs.

Validation and test run on the averaged weights, and every checkpoint holds them in its
`state_dict` (the raw ones under `current_model_state`, which a resumed run trains on), so
eval.py, predict and export use the averaged weights without knowing of them.
"""

from lightning.pytorch.callbacks import EMAWeightAveraging, StochasticWeightAveraging

from dlnotes.errors import ConfigError


def ema(decay: float = 0.999, **options) -> EMAWeightAveraging:
    """Lightning's EMA: avg ← decay · avg + (1 − decay) · weights, after each optimizer step."""
    if not 0 < decay < 1:
        raise ConfigError(
            f"callbacks.ema.decay={decay}: the average keeps this share of itself at each step, "
            "so it lies strictly between 0 and 1 (e.g. 0.999)"
        )
    return EMAWeightAveraging(decay=decay, **options)


def swa(swa_lrs: float, swa_epoch_start: float = 0.8, **options) -> StochasticWeightAveraging:
    """Lightning's SWA: the plain average of the weights from `swa_epoch_start` (a fraction of
    the epochs, or an epoch) on, at the constant rate `swa_lrs`."""
    if swa_lrs <= 0:
        raise ConfigError(f"callbacks.swa.swa_lrs={swa_lrs}: give a positive learning rate")
    return StochasticWeightAveraging(swa_lrs=swa_lrs, swa_epoch_start=swa_epoch_start, **options)
