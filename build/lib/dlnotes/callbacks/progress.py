"""Lightning's Rich progress bar, with the training loss read every few steps, not every step.

Lightning converts each metric logged with `prog_bar=True` on a step into a Python number
after every step (`.item()`); on a GPU each conversion waits for the step's kernels to finish,
so the host can no longer queue the next step while the GPU works on this one. The tasks log
their per-step loss without `prog_bar`, and this bar reads it from the callback metrics every
`trainer.log_every_n_steps` steps (as often as the logger writes it) and at the end of each
epoch; the rest of the bar is Lightning's.
"""

from lightning.pytorch.callbacks import RichProgressBar


class ProgressBar(RichProgressBar):
    """`shown`: the callback metrics to show besides the progress-bar ones (when logged)."""

    def __init__(self, shown: tuple[str, ...] = ("train/loss_step", "train/loss_epoch"), **kwargs):
        super().__init__(**kwargs)
        self.shown = tuple(shown)
        self._values: dict[str, float] = {}
        self._read_at: int | None = None

    def get_metrics(self, trainer, pl_module) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        every = trainer.log_every_n_steps or 1
        due = trainer.global_step % every == 0 or trainer.is_last_batch
        if trainer.training and due and self._read_at != trainer.global_step:
            self._read(trainer)
        return {**metrics, **self._values}

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._read(trainer)  # the epoch's values are logged by now
        super().on_train_epoch_end(trainer, pl_module)

    def _read(self, trainer) -> None:
        self._read_at = trainer.global_step
        logged = trainer.callback_metrics
        self._values = {name: float(logged[name]) for name in self.shown if name in logged}
