"""Run an entry point so that a user's mistake reads as one line, not a traceback."""

import logging
import sys
from collections.abc import Callable

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

from dlnotes.utils.errors import ConfigError

log = logging.getLogger(__name__)


def user_error(error: BaseException) -> str | None:
    """The one-line message if `error` (or what caused it) is a user's mistake, else None."""
    while error is not None:
        if isinstance(error, ConfigError):
            return str(error)
        if isinstance(error, MisconfigurationException):
            return str(error).strip().splitlines()[0]
        if isinstance(error, MissingMandatoryValue):
            key = getattr(error, "full_key", "") or "a value"
            return f"{key} is required: add {key}=... to the command line"
        if isinstance(error, InstantiationException) and error.__cause__ is None:
            return str(error).strip().splitlines()[-1]
        error = error.__cause__ or error.__context__
    return None


def _in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode.name == "MULTIRUN"


def run_cli(main: Callable[[DictConfig], object], cfg: DictConfig):
    """Call `main(cfg)`; on a user error print `error: <message>` and exit with status 1."""
    try:
        return main(cfg)
    except Exception as error:
        message = user_error(error)
        if message is None or _in_multirun():
            raise
        log.debug("user error", exc_info=True)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
