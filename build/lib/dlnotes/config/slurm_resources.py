"""What a Slurm job asks for, read from the trainer config (`conf/hydra/launcher/slurm.yaml`).

GPUs only when the trainer runs on GPUs: a CPU partition refuses a GPU request ("Invalid
generic resource specification"). One task (rank) per device and node, whatever the trainer:
`trainer=cpu` is one task, `trainer=ddp_cpu` two, `trainer=ddp trainer.devices=4` four.
"""

from dlnotes.errors import ConfigError

GPU_ACCELERATORS = ("gpu", "cuda")


def tasks_per_node(devices) -> int:
    """Ranks per node: the trainer's devices, which must be a count here (not -1 or "auto")."""
    if isinstance(devices, int) and not isinstance(devices, bool) and devices >= 1:
        return devices
    raise ConfigError(
        f"trainer.devices={devices!r}: a Slurm job needs a number of devices per node; "
        "set trainer.devices=N (e.g. trainer.devices=4)"
    )


def gpus_per_node(accelerator: str, devices) -> int | None:
    """The trainer's devices when it trains on GPUs, else None (no GPU request)."""
    if str(accelerator).lower() in GPU_ACCELERATORS:
        return tasks_per_node(devices)
    return None
