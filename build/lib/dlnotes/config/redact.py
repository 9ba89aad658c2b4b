"""Keep secrets out of everything a run writes: config tree, logged hyperparameters, checkpoints.

A config can pull an environment variable in (`${oc.env:HF_TOKEN}`); once resolved, its value
would be written with the rest. Values of keys named like a secret, and values of environment
variables named like one (WANDB_API_KEY, *_TOKEN, *_PASSWORD, ...), become "<redacted>".
"""

import os
import re
from typing import Any

SECRET_NAME = re.compile(r"api_?key|token|secret|passw(or)?d|credential", re.IGNORECASE)
REDACTED = "<redacted>"
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words


def secret_values() -> list[str]:
    """The values of this process's environment variables whose names look like secrets."""
    return [
        value
        for name, value in os.environ.items()
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LENGTH
    ]


def redact(container: Any, secrets: list[str] | None = None) -> Any:
    """A copy of a plain config container (dicts, lists, scalars) without secret values."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(container, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and SECRET_NAME.search(key) and isinstance(value, str)
            else redact(value, secrets)
            for key, value in container.items()
        }
    if isinstance(container, list | tuple):
        return type(container)(redact(value, secrets) for value in container)
    if isinstance(container, str):
        for secret in secrets:
            container = container.replace(secret, REDACTED)
    return container
