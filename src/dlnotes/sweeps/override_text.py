"""A value Optuna sampled, written as the right-hand side of a Hydra override."""


def override_value(value) -> str:
    """A sampled value as a Hydra override's right-hand side."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value
    return repr(value)
