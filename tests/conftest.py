"""Fixtures and hooks for every test: the environment defaults set here at import (the
repository as DLNOTES_ROOT, wandb offline), a network that fails, a tiny MNIST, checkpoints
trained once a session, and, under CI=true, a skipped test counts as a failure (only tests
marked `gpu` may skip there). Plain helpers live in tests/helpers/."""

import os
import urllib.error
from pathlib import Path

import pytest

pytest.register_assert_rewrite("helpers")  # their asserts report like the tests' own

from helpers.compose import TINY_TRAININGS, compose_config, fast_overrides  # noqa: E402
from helpers.data import write_tiny_mnist  # noqa: E402
from helpers.paths import ROOT  # noqa: E402

os.environ.setdefault("DLNOTES_ROOT", str(ROOT))
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture
def offline(monkeypatch):
    """Every download attempt fails at once, as on a machine without network; counts the tries."""
    attempts = []

    def fail(*args, **kwargs):
        attempts.append(args)
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr("urllib.request.urlopen", fail)
    return attempts


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """A data_dir holding a tiny MNIST in torchvision's raw layout (written here: no skips)."""
    return write_tiny_mnist(tmp_path_factory.mktemp("data"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip is a failure, except for tests marked `gpu`: in CI every
    non-GPU test must run."""
    outcome = yield
    report = outcome.get_result()
    skipped_in_ci = report.skipped and os.environ.get("CI", "").lower() == "true"
    if skipped_in_ci and "gpu" not in item.keywords and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (only `gpu` tests may skip): {reason}"


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory):
    """`trained_checkpoint(kind)`: the last.ckpt that `train.py` writes after one training step
    of a `TINY_TRAININGS` kind; each kind is trained once a session."""
    from dlnotes.train import train

    made: dict[str, Path] = {}

    def checkpoint(kind: str) -> Path:
        if kind not in made:
            out = tmp_path_factory.mktemp(kind)
            one_step = ["trainer.max_epochs=1", "+trainer.limit_train_batches=1", "test=false"]
            overrides = [*one_step, "+trainer.limit_val_batches=0", *TINY_TRAININGS[kind]]
            overrides = [o for o in fast_overrides(*overrides) if "batch_size" not in o]
            train(compose_config([*overrides, "data.batch_size=2"], out))
            made[kind] = out / "checkpoints" / "last.ckpt"
        return made[kind]

    return checkpoint
