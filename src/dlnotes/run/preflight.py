"""Before anything is built or written: the checks that turn a run's most common mistakes into
one line (a mistyped value, devices the machine lacks, outputs it cannot write)."""

from omegaconf import DictConfig

from dlnotes.config.validate import validate_config
from dlnotes.run.devices import check_devices
from dlnotes.run.writable import check_output_dirs


def preflight(cfg: DictConfig) -> None:
    validate_config(cfg)
    check_devices(cfg)
    check_output_dirs(cfg)
