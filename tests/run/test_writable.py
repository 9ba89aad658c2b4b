"""The writability check before training, as ranks of one torchrun/srun job run it together
on the same run directory."""

import tempfile

import pytest

from dlnotes.errors import ConfigError
from dlnotes.run.preflight import check_writable


def test_a_folder_another_rank_removed_meanwhile_is_made_again(tmp_path, monkeypatch):
    """Rank B's check removes the folder between rank A's mkdir and its probe file."""
    directory = tmp_path / "runs" / "torchrun-1"
    real = tempfile.TemporaryFile
    removed = []

    def other_rank_removes_it_once(dir):
        if not removed:
            directory.rmdir()
            removed.append(True)
        return real(dir=dir)

    monkeypatch.setattr(tempfile, "TemporaryFile", other_rank_removes_it_once)
    check_writable(directory, "hydra.run.dir")
    assert removed and directory.is_dir()


def test_folders_another_rank_wrote_in_are_not_removed(tmp_path, monkeypatch):
    """keep=False removes only what is still empty: another rank's file stays."""
    directory = tmp_path / "sweep" / "job"
    real = tempfile.TemporaryFile

    def other_rank_writes(dir):
        (directory / "train.log").write_text("rank 0")
        return real(dir=dir)

    monkeypatch.setattr(tempfile, "TemporaryFile", other_rank_writes)
    check_writable(directory, "hydra.sweep.dir", keep=False)
    assert (directory / "train.log").read_text() == "rank 0"


def test_an_unwritable_folder_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot write to /proc/x .*: set paths.log_dir to"):
        check_writable("/proc/x", "paths.log_dir")
    check_writable(tmp_path / "a" / "b", "x", keep=False)
    assert not (tmp_path / "a").exists()
