"""Gradient accumulation (`trainer.accumulate_grad_batches=k`, Lightning's own): a step every k
batches for the tasks the trainer steps; the GAN, which steps its two optimizers itself, is
refused in one line."""

import pytest
from lightning.fabric.utilities.exceptions import MisconfigurationException

from dlnotes.errors import user_error
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides

EIGHT_BATCHES = ["trainer.max_epochs=1", "+trainer.limit_train_batches=8", "test=false"]


@pytest.mark.parametrize("every", [1, 4])
def test_the_optimizer_steps_once_every_k_batches(every, tmp_path):
    overrides = [*EIGHT_BATCHES, "data.image_size=8", f"trainer.accumulate_grad_batches={every}"]
    _, objects = train(compose_config(fast_overrides(*overrides), tmp_path))
    assert objects["trainer"].global_step == 8 // every


def test_the_gan_refuses_accumulation_in_one_line(tmp_path):
    overrides = [
        *EIGHT_BATCHES,
        "model=gan",
        "data.image_size=16",
        "trainer.accumulate_grad_batches=2",
    ]
    with pytest.raises(MisconfigurationException) as raised:
        train(compose_config(fast_overrides(*overrides), tmp_path))
    message = user_error(raised.value)
    assert message and "\n" not in message and "manual optimization" in message.lower()
