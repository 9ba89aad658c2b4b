"""Errors a user can fix: printed as one line, without a traceback, exit code 1."""

import os
import re

import torch.distributed as dist
from hydra.errors import InstantiationException
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf.errors import MissingMandatoryValue
from PIL import UnidentifiedImageError


class ConfigError(ValueError):
    """Bad input: an option, a value, a path or a file. The message says what to do."""


class TrainingDiverged(RuntimeError):
    """The training loss became nan or inf; the message says where and what to try."""


class TrainingInterrupted(Exception):
    """SIGTERM or SIGINT stopped the run; the message says what was saved and how to resume.

    `exit_code` is the shell's convention for a process ended by that signal (128 + number)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def user_error(error: BaseException) -> str | None:
    """The one-line message if `error` (or what caused it) is a user's mistake, else None."""
    while error is not None:
        if isinstance(error, ConfigError | TrainingDiverged | TrainingInterrupted):
            return str(error)
        if isinstance(error, dist.DistError):  # DistNetworkError, DistStoreError: no rendezvous
            return rendezvous_failed(error)
        if isinstance(error, MisconfigurationException):
            return str(error).strip().splitlines()[0]
        if isinstance(error, MissingMandatoryValue):
            key = getattr(error, "full_key", "") or "a value"
            return f"{key} is required: add {key}=... to the command line"
        if isinstance(error, InstantiationException) and error.__cause__ is None:
            return str(error).strip().splitlines()[-1]
        if isinstance(error, InstantiationException) and _is_bad_argument(error.__cause__):
            return f"{_full_key(error)}: {_first_line(error.__cause__)}"
        if isinstance(error, UnidentifiedImageError):
            # in a DataLoader worker the message ends with the original error's line
            reason = _last_line(error).removeprefix("PIL.UnidentifiedImageError: ")
            reason = re.sub(r"<_io\.\w+ name='([^']*)'>", r"\1", reason)  # the file's path
            return f"a dataset file is not a readable image: {reason}; delete or replace it"
        error = error.__cause__ or error.__context__
    return None


def rendezvous_failed(error: BaseException) -> str:
    """Ranks that could not meet at the master's address: which address, and what to check."""
    address = os.environ.get("MASTER_ADDR", "the master address")
    port = os.environ.get("MASTER_PORT", "its port")
    world = os.environ.get("WORLD_SIZE", "all")
    return (
        f"the {world} processes of this run could not meet at {address}:{port} in time "
        f"(trainer.strategy.timeout): check that {address} resolves on every node "
        f"(getent hosts {address}), that port {port} is open between the nodes (firewall), and "
        f"that every rank started (the job's log, squeue) [{_first_line(error)}]"
    )


def _is_bad_argument(cause: BaseException | None) -> bool:
    """A value the constructor refused (`trainer.precision=bogus`, an unknown `+model.x=1`)."""
    return isinstance(cause, ValueError | TypeError) and user_error(cause) is None


def _full_key(error: InstantiationException) -> str:
    """The config key Hydra names in the message (`full_key: trainer`), else the target."""
    lines = str(error).strip().splitlines()
    keys = [line.removeprefix("full_key: ") for line in lines if line.startswith("full_key: ")]
    return keys[0] if keys else lines[0]


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _last_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[-1]


def one_line(error: BaseException) -> str:
    """The user's one-line message, or the exception's type and first line."""
    message = user_error(error)
    if message is not None:
        return message
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"


def shape_text(shape) -> str:
    """A shape as errors write it: 1×28×28."""
    return "×".join(str(s) for s in shape)
