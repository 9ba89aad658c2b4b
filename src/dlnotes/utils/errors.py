"""Errors a user can fix: printed as one line, without a traceback, exit code 1."""

from hydra.errors import InstantiationException
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf.errors import MissingMandatoryValue


class ConfigError(ValueError):
    """Bad input: an option, a value, a path or a file. The message says what to do."""


class TrainingDiverged(RuntimeError):
    """The training loss became nan or inf; the message says where and what to try."""


def user_error(error: BaseException) -> str | None:
    """The one-line message if `error` (or what caused it) is a user's mistake, else None."""
    while error is not None:
        if isinstance(error, ConfigError | TrainingDiverged):
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


def one_line(error: BaseException) -> str:
    """The user's one-line message, or the exception's type and first line."""
    message = user_error(error)
    if message is not None:
        return message
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"
