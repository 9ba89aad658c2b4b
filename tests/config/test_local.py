"""conf/local/default.yaml, a person's own git-ignored defaults: applied by every entry point
when present (the command line still wins), and nothing when absent."""

import subprocess

import pytest

from helpers.compose import compose_config
from helpers.paths import CONF, ROOT

LOCAL = CONF / "local" / "default.yaml"


@pytest.fixture
def local_defaults():
    """Writes conf/local/default.yaml for the test, keeping a person's own file aside."""
    kept = LOCAL.read_text() if LOCAL.is_file() else None
    LOCAL.write_text("# @package _global_\nseed: 777\npaths:\n  data_dir: /datasets\n")
    yield
    if kept is None:
        LOCAL.unlink()
    else:
        LOCAL.write_text(kept)


@pytest.mark.parametrize("entry", ["train", "eval", "predict", "export", "sample", "inspect"])
def test_every_entry_point_reads_the_local_defaults(entry, local_defaults, tmp_path):
    assert compose_config([], tmp_path, config_name=entry).paths.data_dir == "/datasets"


def test_the_command_line_wins_over_the_local_defaults(local_defaults, tmp_path):
    assert compose_config([], tmp_path).seed == 777
    assert compose_config(["seed=5"], tmp_path).seed == 5


def test_without_the_file_nothing_changes_and_git_ignores_it(tmp_path):
    kept = LOCAL.read_text() if LOCAL.is_file() else None
    LOCAL.unlink(missing_ok=True)
    try:
        assert compose_config([], tmp_path).seed == 12345  # train.yaml's own
    finally:
        if kept is not None:
            LOCAL.write_text(kept)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(LOCAL)], cwd=ROOT)
    assert ignored.returncode == 0
