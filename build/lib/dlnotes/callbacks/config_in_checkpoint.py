"""Keep the run's data and model config inside each checkpoint.

`eval.py ckpt_path=...` then rebuilds the same net without the user repeating `model=...`,
and can say clearly when a checkpoint does not fit the data it is asked to run on.
"""

from lightning.pytorch import Callback

from dlnotes.checkpoints.load import CHECKPOINT_KEY


class ConfigInCheckpoint(Callback):
    def __init__(self, config: dict):
        self.config = config  # plain containers only: checkpoints load with weights_only=True

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self.config
