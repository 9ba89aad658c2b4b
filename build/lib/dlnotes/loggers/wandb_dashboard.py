"""A wandb run whose dashboard shows what matters without clicking.

- The monitored metric's best value is the run's summary: `define_metric(monitor,
  summary="max")` (or "min", the model's mode) before its first value, so the runs table and
  a sweep's comparison show the best epoch, not the last.
- Epoch metrics (`val/*`, `test/*`, `*_epoch`, and what is logged with them) are drawn against
  `epoch`; step metrics keep Lightning's x-axis, `trainer/global_step`.
- `log_model=true` uploads, when training ends, the best checkpoint (alias `best`) and the last
  one (alias `last`) as versions of one model artifact, `model-<run id>`. Lightning's own
  `log_model` would alias every checkpoint callback's newest file `best`, and last.ckpt comes
  from a callback with no monitor (`LastCheckpoint`), so the upload is done here.
"""

from pathlib import Path

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from dlnotes.errors import ConfigError

EPOCH_AXIS = "epoch"  # Lightning adds the epoch to every row it logs
EPOCH_PREFIXES = ("val/", "test/")


def is_epoch_metric(key: str, row: dict) -> bool:
    """Lightning logs a step's metrics and an epoch's metrics in separate rows: a key is an
    epoch metric when it is one by its name, or shares its row with one (`train/acc`, logged
    on epoch only, comes with `train/loss_epoch`)."""

    def by_name(name: str) -> bool:
        return name.startswith(EPOCH_PREFIXES) or name.endswith("_epoch")

    return by_name(key) or (not key.endswith("_step") and any(by_name(k) for k in row))


class DashboardWandbLogger(WandbLogger):
    """`WandbLogger` with the summary, the x-axes and the checkpoint upload described above.

    `monitor`/`mode` are the model's (`model.monitor`, `model.mode`); other arguments go to
    `WandbLogger` and on to `wandb.init`.
    """

    def __init__(
        self, monitor: str | None = None, mode: str = "max", log_model: bool = False, **kwargs
    ):
        if not isinstance(log_model, bool):
            raise ConfigError(
                f"logger.wandb.log_model={log_model!r} is not valid: use true (upload the best "
                "and last checkpoints when training ends) or false"
            )
        super().__init__(log_model=False, **kwargs)
        self.monitor, self.mode = monitor, mode
        self.upload_checkpoints = log_model
        self.defined: set[str] = set()
        self.saving_callbacks: dict[str, ModelCheckpoint] = {}  # by state_key: Lightning
        # passes a weak proxy of the callback each time
        self.uploaded: set[tuple[str, float]] = set()

    @rank_zero_only
    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        self.define_metrics(metrics)
        super().log_metrics(metrics, step)

    def define_metrics(self, row: dict) -> None:
        """Give each metric its x-axis the first time it is logged (the monitored one, with its
        summary, before any value)."""
        run = self.experiment
        if not self.defined:
            run.define_metric(EPOCH_AXIS, hidden=True)
            self.defined.add(EPOCH_AXIS)
            if self.monitor:
                run.define_metric(self.monitor, step_metric=EPOCH_AXIS, summary=self.mode)
                self.defined.add(self.monitor)
        for key in row:
            if key in self.defined or key.startswith("trainer/"):
                continue
            if is_epoch_metric(key, row):
                run.define_metric(key, step_metric=EPOCH_AXIS)
            self.defined.add(key)

    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        if self.upload_checkpoints:
            self.saving_callbacks[checkpoint_callback.state_key] = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        # fit and test each end with finalize("success"); a failed run uploads nothing
        if status == "success" and self.upload_checkpoints:
            self.upload_best_and_last()
        super().finalize(status)

    def checkpoints(self) -> dict[str, dict]:
        """{path: {"aliases", "score"}}: the best checkpoint of each monitoring callback, and the
        newest file of a callback without a monitor (last.ckpt) or with save_last."""
        found: dict[str, dict] = {}

        def add(path: str, alias: str, score=None) -> None:
            if path and Path(path).is_file():
                entry = found.setdefault(path, {"aliases": [], "score": None})
                entry["aliases"].append(alias)
                entry["score"] = entry["score"] if score is None else float(score)

        for callback in self.saving_callbacks.values():
            if callback.monitor is not None:
                add(callback.best_model_path, "best", callback.best_model_score)
                add(callback.last_model_path, "last")
            else:
                add(callback.best_model_path or callback.last_model_path, "last")
        return dict(sorted(found.items(), key=lambda item: "last" in item[1]["aliases"]))

    def upload_best_and_last(self) -> None:
        import wandb

        run = self.experiment
        for path, entry in self.checkpoints().items():
            stamp = (path, Path(path).stat().st_mtime)
            if stamp in self.uploaded:
                continue
            metadata = {
                "original_filename": Path(path).name,
                "monitor": self.monitor,
                "mode": self.mode,
                "score": entry["score"],
            }
            artifact = wandb.Artifact(name=f"model-{run.id}", type="model", metadata=metadata)
            artifact.add_file(path, name="model.ckpt")
            run.log_artifact(artifact, aliases=entry["aliases"])
            self.uploaded.add(stamp)
