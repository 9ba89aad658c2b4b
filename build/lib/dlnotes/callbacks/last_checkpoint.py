"""`checkpoints/last.ckpt` after every epoch, whether or not the monitored metric improved.

Lightning's `ModelCheckpoint(save_last=True)` refreshes last.ckpt only when it also saves a
best checkpoint; after a crash, `ckpt_path=last` would then go back to the last improvement.
This is a second `ModelCheckpoint` with no monitor, one file, always overwritten (atomically:
see `AtomicCheckpointIO`), and a state key of its own, so that both keep their state in a
checkpoint even when the model monitors nothing (a GAN without FID).
"""

from lightning.pytorch.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    def __init__(self, dirpath: str):
        super().__init__(
            dirpath=dirpath,
            filename=self.CHECKPOINT_NAME_LAST,
            monitor=None,
            save_top_k=1,
            enable_version_counter=False,
        )

    @property
    def state_key(self) -> str:
        return self._generate_state_key(file=self.CHECKPOINT_NAME_LAST)
