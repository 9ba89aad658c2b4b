"""Run an entry point so that a user's mistake reads as one line, not a traceback.

Under `-m` a failing job's error goes to its log and its result.json says "failed"; then it
raises, as Hydra expects: Optuna records the trial as failed and goes on, the basic sweeper
runs the remaining jobs of the batch and exits with the error. The sweep summary lists both.
"""

import logging
import sys
from collections.abc import Callable

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from dlnotes.errors import TrainingInterrupted, one_line, user_error

log = logging.getLogger(__name__)


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode.name == "MULTIRUN"


def run_cli(main: Callable[[DictConfig], object], cfg: DictConfig):
    """Call `main(cfg)`. On a user error print `error: <message>` and exit with status 1.

    A run stopped by SIGTERM/SIGINT prints how to resume and exits with 128 + the signal's
    number (143, 130), under `-m` too: the sweep stops there."""
    try:
        return main(cfg)
    except TrainingInterrupted as interrupted:
        print(interrupted, file=sys.stderr)
        sys.exit(interrupted.exit_code)
    except Exception as error:
        if in_multirun():
            job = HydraConfig.get().job.num
            log.error(f"job {job} failed: {one_line(error)}", exc_info=error)
            raise
        message = user_error(error)
        if message is None:
            raise
        log.debug("user error", exc_info=True)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
