"""Where the repository is: the one place the code finds it.

The entry scripts (`train.py`, `eval.py`, ...) set DLNOTES_ROOT to the checkout they lie in,
and `conf/paths/default.yaml` builds `paths.root_dir`, `paths.data_dir` and `paths.log_dir`
from it. Code that runs outside a Hydra job (the claims, `python -m dlnotes.export`) asks
`repo_root()`, which falls back to the checkout this package is installed from (an editable
install: `src/dlnotes/config/paths.py` is three folders below the root).
"""

import os
from pathlib import Path

ROOT_VARIABLE = "DLNOTES_ROOT"


def repo_root() -> Path:
    """The checkout the code runs from: DLNOTES_ROOT, else the one holding this package."""
    return Path(os.environ.get(ROOT_VARIABLE) or Path(__file__).resolve().parents[3])


def conf_dir() -> Path:
    """The Hydra config folder, `conf/` in the checkout."""
    return repo_root() / "conf"


def set_repo_root(root: str | Path) -> None:
    """Make `root` the checkout for this process and the processes it starts (unless the
    caller's environment already names one)."""
    os.environ.setdefault(ROOT_VARIABLE, str(Path(root).resolve()))
