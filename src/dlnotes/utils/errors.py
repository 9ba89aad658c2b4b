"""Errors a user can fix: printed as one line, without a traceback, exit code 1."""


class ConfigError(ValueError):
    """Bad input: an option, a value, a path or a file. The message says what to do."""
