"""Claims runs that can be trusted: one at a time, and jobs from a clean checkout of the
commit the record names."""

import shutil
import subprocess

import pytest

from dlnotes.claims import __main__ as command
from dlnotes.claims import run as claim_runs
from dlnotes.claims.lock import claims_lock
from dlnotes.claims.worktree import clean_worktree
from dlnotes.errors import ConfigError


def test_a_second_claims_run_refuses_in_one_line_naming_the_first(tmp_path):
    lock = tmp_path / "claims.lock"
    with claims_lock(lock, "bn"):
        # another process (a lock held by this one would be granted to it again)
        probe = (
            "import sys; from pathlib import Path; from dlnotes.claims.lock import claims_lock\n"
            "try:\n"
            f"    with claims_lock(Path({str(lock)!r}), 'nin_head'): pass\n"
            "except Exception as error:\n"
            "    print(error); sys.exit(1)\n"
        )
        done = subprocess.run(["python", "-c", probe], capture_output=True, text=True)
        assert done.returncode == 1, done.stderr
        message = done.stdout.strip()
        assert "\n" not in message and "another claims run is going on (claim bn" in message
    with claims_lock(lock, "nin_head"):  # released: the next one runs
        assert "claim nin_head" in lock.read_text()


def test_the_lock_refuses_within_one_process_too(tmp_path):
    refused = pytest.raises(ConfigError, match="claim a")
    with claims_lock(tmp_path / "l", "a"), refused, claims_lock(tmp_path / "l", "b"):
        pass


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def committed_repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "code.py").write_text("committed\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    return repo


def test_jobs_start_from_a_clean_worktree_of_head(tmp_path):
    repo = committed_repo(tmp_path)
    (repo / "code.py").write_text("edited while the claim runs\n")
    with clean_worktree(repo, tmp_path / "worktree") as (folder, commit):
        assert (folder / "code.py").read_text() == "committed\n"
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, text=True, capture_output=True
        ).stdout.strip()
        assert commit == head
    assert not (tmp_path / "worktree").exists()  # removed afterwards
    assert (repo / "code.py").read_text() == "edited while the claim runs\n"  # untouched


def test_a_full_scale_run_points_its_jobs_at_the_worktree(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(command, "WORKTREE", tmp_path / "worktree")
    monkeypatch.setattr(command, "run_claim", lambda *a: seen.append(claim_runs.jobs_root) or {})
    command.run_at_scale(None, "full", tmp_path / "out")
    assert seen == [tmp_path / "worktree"] and (seen[0] != claim_runs.ROOT)
    assert claim_runs.jobs_root == claim_runs.ROOT  # back for the next run
    command.run_at_scale(None, "smoke", tmp_path / "out")
    assert seen[-1] == claim_runs.ROOT  # a smoke run uses the working tree as it is


def test_several_claims_run_one_after_another_and_a_failure_does_not_stop_the_rest(
    monkeypatch, tmp_path, capsys
):
    ran = []

    def fake_run(claim, scale, out):
        ran.append(claim.name)
        if claim.name == "bn":
            raise RuntimeError("boom")
        return {"comparison": {"verdict": "holds"}, "wall_s": 1.0}

    monkeypatch.setattr(command, "run_at_scale", fake_run)
    monkeypatch.setattr(command, "LOCK", tmp_path / "claims.lock")
    with pytest.raises(ConfigError, match="1 of 2 claims failed: bn"):
        command.main(["run", "bn,vae_beta", "scale=smoke", f"out={tmp_path}"])
    assert ran == ["bn", "vae_beta"]
    assert (tmp_path / "vae_beta" / "vae_beta.json").is_file()
    assert "bn: failed: RuntimeError: boom" in capsys.readouterr().err
    assert [claim.name for claim in command.chosen_claims("all")] == command.claim_names()
    with pytest.raises(ConfigError, match="no claim 'nope'"):
        command.chosen_claims("bn,nope")  # refused before any claim runs


def test_a_worktree_left_by_a_killed_run_is_replaced(tmp_path):
    """A run killed mid-claim leaves its worktree's folder and git's record of it; the next
    run starts anyway."""
    repo = committed_repo(tmp_path)
    git(repo, "worktree", "add", "--detach", str(tmp_path / "worktree"), "HEAD")
    with clean_worktree(repo, tmp_path / "worktree") as (folder, _):
        assert (folder / "code.py").read_text() == "committed\n"
    git(repo, "worktree", "add", "--detach", str(tmp_path / "worktree"), "HEAD")
    shutil.rmtree(tmp_path / "worktree")  # the folder gone, git's record left
    with clean_worktree(repo, tmp_path / "worktree") as (folder, _):
        assert (folder / "code.py").read_text() == "committed\n"
