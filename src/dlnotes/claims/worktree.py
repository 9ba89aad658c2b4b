"""A claim's jobs start from a clean checkout of the commit its record names: a git worktree
of HEAD, so that edits made in the working tree while a claim runs (for hours) cannot reach
its jobs."""

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dlnotes.errors import ConfigError


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise ConfigError(f"git {' '.join(args)} failed in {root}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def clean_worktree(root: Path, folder: Path) -> Iterator[tuple[Path, str]]:
    """(a checkout of HEAD in `folder`, its short commit), removed afterwards."""
    commit = git(root, "rev-parse", "--short", "HEAD")
    if folder.exists():  # left by a run that was killed before it could remove it
        shutil.rmtree(folder)
    git(root, "worktree", "prune")  # ... and git's record of it
    git(root, "worktree", "add", "--detach", str(folder), commit)
    try:
        yield folder, commit
    finally:
        git(root, "worktree", "remove", "--force", str(folder))
