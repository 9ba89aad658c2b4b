"""Before anything is built or written: the checks that turn a run's most common mistakes into
one line that says what to change.

- the config's values (`config/validate.py`);
- devices: are the devices the trainer config asks for on this machine? Lightning's own errors
  here are "No supported gpu backend found!" or "You requested gpu: [0, 1]" with the machine's
  GPUs on a second line;
- outputs: can the run write its directory and checkpoints (found out now, not at the first
  checkpoint); `WritableOutputDir` does the same for Hydra's run or sweep directory;
- the model against the data (after both are built): does the net take the data's images and
  give its classes?
"""

import os
import sys
import tempfile
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf

from dlnotes.config.validate import validate_config
from dlnotes.errors import ConfigError, shape_text


def preflight(cfg: DictConfig) -> None:
    """Everything that can be checked before data and model are built."""
    validate_config(cfg)
    check_devices(cfg)
    check_output_dirs(cfg)


# devices

GPU_ACCELERATORS = ("gpu", "cuda")


def trainer_choice(cfg: DictConfig) -> str:
    """`trainer=ddp` as the user wrote it (from Python: the accelerator setting)."""
    if HydraConfig.initialized():
        return f"trainer={HydraConfig.get().runtime.choices.get('trainer')}"
    return f"trainer.accelerator={cfg.trainer.get('accelerator')}"


def available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def requested_count(devices) -> int | None:
    """How many devices `trainer.devices` asks for; None for all of them (-1, "auto")."""
    if devices in (-1, "-1", "auto"):
        return None
    if isinstance(devices, int) and not isinstance(devices, bool) and devices >= 1:
        return devices
    if isinstance(devices, list | ListConfig) and devices:
        return len(devices)
    raise ConfigError(
        f"trainer.devices={devices!r} is not valid: it must be an integer ≥ 1, -1 (all), "
        "'auto' or a list of GPU indices"
    )


def check_devices(cfg: DictConfig) -> None:
    accelerator = cfg.trainer.get("accelerator", "auto")
    wanted = requested_count(cfg.trainer.get("devices", "auto"))
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if accelerator in GPU_ACCELERATORS and gpus == 0:
        raise ConfigError(
            f"{trainer_choice(cfg)} needs a GPU and this machine has none that PyTorch can use "
            "(torch.cuda.is_available() is False): use trainer=cpu, or trainer=ddp_cpu for DDP "
            "on CPU processes"
        )
    on_gpu = accelerator in GPU_ACCELERATORS or (accelerator == "auto" and gpus > 0)
    if on_gpu and wanted is not None and wanted > gpus:
        raise ConfigError(
            f"trainer.devices={wanted} but this machine has {gpus} GPU{'s' * (gpus != 1)}: "
            f"use trainer.devices={gpus} or trainer.devices=-1 (all of them)"
        )
    cpus = available_cpus()
    if accelerator == "cpu" and wanted is not None and wanted > cpus:
        raise ConfigError(
            f"trainer.devices={wanted} asks for {wanted} CPU processes but this machine has "
            f"{cpus} cores: use trainer.devices={cpus} or fewer"
        )


# outputs


def check_writable(directory: str | Path, setting: str, keep: bool = True) -> None:
    """Create `directory` if needed and write a file in it; `setting` is the option to change.
    With `keep=False` the folders this check created are removed again (Hydra creates a
    sweep directory only when its first job starts), unless another process (a rank of the same
    torchrun or srun job checking the same folder) has meanwhile put something in them."""
    directory = Path(directory)
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    try:
        _write_a_file_in(directory)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(
            f"cannot write to {directory} ({reason}): set {setting} to a folder you can write to"
        ) from None
    if not keep:
        for folder in missing:  # deepest first
            try:
                folder.rmdir()
            except OSError:  # not empty, or gone: another process's, leave it
                break


def _write_a_file_in(directory: Path, tries: int = 3) -> None:
    """mkdir + a temporary file; again if another process's check removed the folder between
    the two (ranks of one job start together and check the same folder)."""
    for attempt in range(tries):
        directory.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.TemporaryFile(dir=directory):
                return
        except FileNotFoundError:
            if attempt == tries - 1:
                raise


def check_output_dirs(cfg: DictConfig) -> None:
    """The run directory and every callback's `dirpath` (checkpoints) can be written."""
    check_writable(cfg.paths.output_dir, "hydra.run.dir (or paths.log_dir)")
    for name, entry in (cfg.get("callbacks") or {}).items():
        dirpath = entry.get("dirpath") if isinstance(entry, DictConfig) else None
        if dirpath:
            check_writable(dirpath, f"callbacks.{name}.dirpath")


def _check(config: DictConfig, key: str) -> None:
    directory = Path(str(OmegaConf.select(config, key)))
    try:
        check_writable(directory, f"{key} (or paths.log_dir)", keep=False)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


class WritableOutputDir(Callback):
    """Hydra callback: stop with one line when the run (or sweep) directory cannot be written.

    Hydra creates the directory itself, before `train.py`'s code runs, and a failure there
    shows as a traceback through Hydra's internals. Hydra turns a callback's exceptions into
    warnings, so this one prints `error: ...` and exits with status 1 itself, as `run_cli`
    does."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        _check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        _check(config, "hydra.sweep.dir")


# the model against the data


def check_model_fits_data(model, image_shape, num_classes: int, cfg: DictConfig) -> None:
    """Ask the net (`check_input_shape`), then try one tiny forward pass on zeros.

    A task with nets of its own shape (a GAN's pair, say) answers through `check_data`, which
    raises ValueError with the reason.
    """
    data_name = cfg.data.get("_target_", "data").rsplit(".", 1)[-1]
    if hasattr(model, "check_data"):
        try:
            model.check_data(tuple(image_shape))
        except (ValueError, RuntimeError) as error:
            reason = str(error).strip().splitlines()[0]
            raise ConfigError(
                f"{type(model).__name__} does not fit {data_name}: {reason}"
            ) from None
        return
    net = getattr(model, "net", None)
    if net is None:
        return
    net_name = type(net).__name__
    if hasattr(net, "check_input_shape"):
        try:
            net.check_input_shape(tuple(image_shape))
        except ValueError as error:
            raise ConfigError(f"{net_name} does not fit {data_name}: {error}") from None
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            output = net(torch.zeros(2, *image_shape))
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(
            f"{net_name} cannot take {data_name}'s {shape_text(image_shape)} images: {reason}"
        ) from None
    finally:
        net.train(was_training)
    expected = (2, num_classes)
    if output.ndim == 2 and tuple(output.shape) != expected:  # a classifier's logits
        raise ConfigError(
            f"{net_name} gives {output.shape[1]} outputs but {data_name} has {num_classes} "
            f"classes: set model.net.num_classes={num_classes}"
        )
