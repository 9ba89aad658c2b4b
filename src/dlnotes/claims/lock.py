"""One claims run at a time on a machine: a claim's times are only its own when nothing else
shares the cores. The second run refuses in one line, naming the first."""

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dlnotes.errors import ConfigError


@contextmanager
def claims_lock(path: Path, claim: str) -> Iterator[None]:
    """Hold `path` (an advisory lock, released when the process ends, however it ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            raise ConfigError(
                f"another claims run is going on ({holder}; lock {path}): wait for it to end,"
                " two runs at once would share the cores and their times"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"claim {claim}, pid {os.getpid()}, since {time.strftime('%H:%M:%S')}\n")
        file.flush()
        try:
            yield
        finally:
            file.seek(0)
            file.truncate()
            fcntl.flock(file, fcntl.LOCK_UN)
