"""Averaged weights (callbacks=ema|swa, on Lightning's WeightAveraging): the checkpoint's
state_dict holds the average, which differs from the raw weights and equals the average computed
by hand from the raw weights of every step (EMA: exponential; SWA: the plain mean from its first
epoch on); values that cannot be an average are one line."""

import pytest
import torch
from lightning.pytorch import Callback

from dlnotes.callbacks.weight_averaging import ema, swa
from dlnotes.checkpoints.load import model_from_checkpoint
from dlnotes.errors import ConfigError
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides


class RawWeights(Callback):
    """The model's raw weights after every optimizer step, with the step's epoch."""

    def __init__(self):
        self.steps = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        weights = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        self.steps.append((trainer.current_epoch, weights))


def trained(averaging: list[str], epochs: int, tmp_path, monkeypatch) -> tuple[list, dict]:
    """The raw weights of each step and the last checkpoint of a short run with `averaging`."""
    raw = RawWeights()
    monkeypatch.setattr("dlnotes.run.build.trial_callbacks", lambda cfg: [raw])
    overrides = [
        "data.image_size=8",
        *averaging,
        f"trainer.max_epochs={epochs}",
        "+trainer.limit_train_batches=4",
        "+trainer.limit_val_batches=1",
        "test=false",
    ]
    train(compose_config(fast_overrides(*overrides), tmp_path))
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    return raw.steps, checkpoint


def a_weight(checkpoint: dict) -> str:
    return next(k for k in checkpoint["state_dict"] if k.endswith("weight"))


def test_ema_checkpoint_holds_the_hand_computed_average(tmp_path, monkeypatch):
    decay = 0.5
    averaging = ["callbacks=ema", f"callbacks.ema.decay={decay}"]
    steps, checkpoint = trained(averaging, 1, tmp_path, monkeypatch)
    key = a_weight(checkpoint)
    average = steps[0][1][key].float()  # the first update copies the weights
    for _, weights in steps[1:]:
        average = decay * average + (1 - decay) * weights[key].float()
    assert torch.allclose(checkpoint["state_dict"][key].float(), average, atol=1e-6)
    assert not torch.allclose(checkpoint["current_model_state"][key].float(), average)
    rebuilt = model_from_checkpoint(tmp_path / "checkpoints" / "last.ckpt")  # eval, predict, export
    assert torch.allclose(rebuilt.state_dict()[key].float(), average, atol=1e-6)


def test_swa_checkpoint_holds_the_mean_of_the_steps_from_its_first_epoch(tmp_path, monkeypatch):
    averaging = ["callbacks=swa", "callbacks.swa.start_epoch=1"]
    steps, checkpoint = trained(averaging, 2, tmp_path, monkeypatch)
    key = a_weight(checkpoint)
    averaged = [weights[key].float() for epoch, weights in steps if epoch >= 1]
    assert len(averaged) == 4 and len(steps) == 8
    mean = torch.stack(averaged).mean(0)
    assert torch.allclose(checkpoint["state_dict"][key].float(), mean, atol=1e-6)
    every_step = torch.stack([weights[key].float() for _, weights in steps]).mean(0)
    assert not torch.allclose(mean, every_step, atol=1e-6)  # epoch 0 is left out
    assert torch.equal(checkpoint["current_model_state"][key], steps[-1][1][key])


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5])
def test_a_decay_outside_zero_and_one_is_one_line(decay):
    with pytest.raises(ConfigError, match=f"callbacks.ema.decay={decay}"):
        ema(decay=decay)


def test_a_negative_swa_start_is_one_line():
    with pytest.raises(ConfigError, match="callbacks.swa.start_epoch=-1"):
        swa(start_epoch=-1)
