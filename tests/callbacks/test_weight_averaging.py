"""Averaged weights (callbacks=ema|swa, Lightning's callbacks): the checkpoint's state_dict
holds the average, which differs from the raw weights and equals an EMA computed by hand from
the raw weights of every step; a decay outside (0, 1) is one line."""

import pytest
import torch
from lightning.pytorch import Callback

from dlnotes.callbacks.weight_averaging import ema
from dlnotes.errors import ConfigError
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides


class RawWeights(Callback):
    """The model's raw weights after every optimizer step."""

    def __init__(self):
        self.steps = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps.append({k: v.detach().clone() for k, v in pl_module.state_dict().items()})


def test_ema_checkpoint_holds_the_hand_computed_average(tmp_path, monkeypatch):
    decay = 0.5
    raw = RawWeights()
    monkeypatch.setattr("dlnotes.run.build.trial_callbacks", lambda cfg: [raw])
    overrides = [
        "data.image_size=8",
        "callbacks=ema",
        f"callbacks.ema.decay={decay}",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=4",
        "+trainer.limit_val_batches=1",
        "test=false",
    ]
    train(compose_config(fast_overrides(*overrides), tmp_path))
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    key = next(k for k in checkpoint["state_dict"] if k.endswith("weight"))
    average = raw.steps[0][key].float()  # the first update copies the weights
    for step in raw.steps[1:]:
        average = decay * average + (1 - decay) * step[key].float()
    assert torch.allclose(checkpoint["state_dict"][key].float(), average, atol=1e-6)
    assert not torch.allclose(checkpoint["current_model_state"][key].float(), average)


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5])
def test_a_decay_outside_zero_and_one_is_one_line(decay):
    with pytest.raises(ConfigError, match=f"callbacks.ema.decay={decay}"):
        ema(decay=decay)
