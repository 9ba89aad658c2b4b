"""Before anything is built: are the devices the trainer config asks for on this machine?

Lightning's own errors here are "No supported gpu backend found!" or "You requested gpu: [0, 1]"
with the machine's GPUs on a second line; these say which option to change.
"""

import os

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig

from dlnotes.errors import ConfigError

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
