"""One real training step through a Lightning Trainer, and what it returned and was given."""

from pathlib import Path

import lightning as L
from lightning.pytorch import Callback


class StepOutputs(Callback):
    """Keeps what each training step returned (its loss) and the batch it was given."""

    def __init__(self):
        self.outputs, self.batches = [], []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.outputs.append(outputs)
        self.batches.append(batch)


def one_training_step(model, datamodule, output_dir: Path) -> tuple[dict, StepOutputs]:
    """One real training step (and one validation batch) through a Lightning Trainer: what the
    step logged, and what it returned and was given (`.outputs`, `.batches`)."""
    outputs = StepOutputs()
    trainer = L.Trainer(
        fast_dev_run=1,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[outputs],
        default_root_dir=output_dir,
    )
    trainer.fit(model, datamodule=datamodule)
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    return logged, outputs
