"""Two nodes of a real Slurm cluster (`scripts/slurm_cluster.sh nodes=2`, as `.ci/run` starts
it): one DDP training across both, launcher jobs that each span both, a requeued and a
preempted two-node job ending as an uninterrupted one, the data split between the nodes, and
a rendezvous that cannot complete ending in one line instead of hanging."""

import json
import subprocess
import time

import pytest
import torch

from dlnotes.train import train
from helpers.compose import compose_config
from helpers.runs import assert_val_acc_is_over_the_whole_split, only_rank_zero_wrote
from helpers.slurm import (
    PARTITION,
    RESUMABLE,
    TINY,
    assert_continued_to_the_uninterrupted_end,
    paused_job,
    ready_nodes,
    sbatch,
    summary_rows,
    sweep,
    wait_for_end,
)

TWO_NODES = ["--nodes=2", "--ntasks-per-node=1", "--cpus-per-task=1"]


@pytest.fixture(scope="module")
def two_nodes() -> list[str]:
    """The partition's first two nodes; skips (a failure under CI=true) with fewer."""
    nodes = ready_nodes()
    if len(nodes) < 2:
        pytest.skip(
            f"Slurm partition {PARTITION!r} has {len(nodes)} node(s) up: start two with "
            "sudo scripts/slurm_cluster.sh nodes=2"
        )
    return nodes[:2]


def rank_nodes(run_dir) -> list[str]:
    """Each rank's node, in rank order, as the run's provenance.json records them."""
    return [rank["node"] for rank in json.loads((run_dir / "provenance.json").read_text())["ranks"]]


def test_sbatch_runs_one_ddp_training_across_two_nodes(two_nodes, tmp_path):
    """2 nodes × 1 task: world size 2, a rank on each node, one run directory written by
    rank 0, validation over the whole split."""
    job = sbatch(*TWO_NODES, overrides=TINY, log_dir=tmp_path)
    output = tmp_path / f"slurm-{job}.out"
    assert wait_for_end(job, tmp_path) == "COMPLETED", output.read_text()
    assert "2 node(s) × 1 task(s), trainer=ddp_cpu" in output.read_text()
    (run_dir,) = (tmp_path / "train" / "runs").iterdir()
    only_rank_zero_wrote(run_dir)
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["slurm"]["job_id"] == job and provenance["slurm"]["nodes"] == "2"
    assert sorted(rank_nodes(run_dir)) == two_nodes  # one rank on each node
    assert_val_acc_is_over_the_whole_split(run_dir, tmp_path / "check", "data.image_size=16")


def test_launcher_jobs_each_span_two_nodes(two_nodes, tmp_path):
    """`trainer.num_nodes=2 trainer.devices=1`: each sweep job is one Slurm job on both nodes."""
    nodes = ["trainer=ddp_cpu", "trainer.num_nodes=2", "trainer.devices=1"]
    result = sweep(*nodes, *TINY, "model.optimizer.lr=0.01,0.05", log_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir, rows = summary_rows(tmp_path)
    assert [row["status"] for row in rows] == ["completed", "completed"]
    assert all(0 <= float(row["test/acc"]) <= 1 for row in rows)
    for job in ("0", "1"):
        assert sorted(rank_nodes(sweep_dir / job)) == two_nodes
        provenance = json.loads((sweep_dir / job / "provenance.json").read_text())
        assert provenance["slurm"]["nodes"] == "2"


@pytest.fixture(scope="module")
def two_node_metrics(two_nodes, tmp_path_factory) -> dict:
    """The final metrics of RESUMABLE on two nodes without a break (for both requeue tests)."""
    out = tmp_path_factory.mktemp("uninterrupted_two_nodes")
    job = sbatch(*TWO_NODES, overrides=RESUMABLE, log_dir=out)
    assert wait_for_end(job, out) == "COMPLETED", (out / f"slurm-{job}.out").read_text()
    (run_dir,) = (out / "train" / "runs").iterdir()
    return json.loads((run_dir / "result.json").read_text())["metrics"]


def test_a_requeued_two_node_job_ends_as_an_uninterrupted_one(two_node_metrics, tmp_path):
    job, run_dir = paused_job(tmp_path, RESUMABLE, *TWO_NODES)
    subprocess.run(["scontrol", "requeue", job], check=True)
    assert wait_for_end(job, tmp_path) == "COMPLETED"
    assert_continued_to_the_uninterrupted_end(job, run_dir, tmp_path, two_node_metrics)


def test_a_preempted_two_node_job_saves_requeues_and_ends_as_an_uninterrupted_one(
    two_node_metrics, tmp_path
):
    job, run_dir = paused_job(tmp_path, RESUMABLE, *TWO_NODES)
    subprocess.run(["scancel", "--signal=USR1", job], check=True)
    assert wait_for_end(job, tmp_path) == "COMPLETED"
    assert (run_dir / "hpc_ckpt_1.ckpt").is_file()
    assert_continued_to_the_uninterrupted_end(job, run_dir, tmp_path, two_node_metrics)


# two steps of a net without BN or dropout, whose update depends only on the batch's samples
TWO_STEPS = [
    "model=nin",
    "model.net.norm=none",
    "model.net.dropout=0",
    "data.image_size=16",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=2",
    "+trainer.limit_val_batches=1",
    "test=false",
    "logger=csv",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
]


def one_process_weights(batch_size: int, out) -> dict:
    train(compose_config(["trainer=cpu", *TWO_STEPS, f"data.batch_size={batch_size}"], out))
    return torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]


def test_two_nodes_split_the_data_as_one_process_with_twice_the_batch(two_nodes, tmp_path):
    """Batch 8 on each of 2 nodes = batch 16 in one process (each rank a disjoint half of the
    shared order); were both ranks given the same samples, it would be batch 8 in one."""
    job = sbatch(*TWO_NODES, overrides=[*TWO_STEPS, "data.batch_size=8"], log_dir=tmp_path)
    assert wait_for_end(job, tmp_path) == "COMPLETED", (tmp_path / f"slurm-{job}.out").read_text()
    (run_dir,) = (tmp_path / "train" / "runs").iterdir()
    nodes = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    twice = one_process_weights(16, tmp_path / "batch16")
    same = one_process_weights(8, tmp_path / "batch8")
    close = lambda a, b: all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)  # noqa: E731
    assert close(nodes, twice)
    assert not close(nodes, same)


def test_a_master_that_cannot_be_reached_ends_the_job_in_one_line(two_nodes, tmp_path):
    """A master name that does not resolve (a typo, a node gone): every rank gives up after
    the process-group timeout and says in one line where it tried and what to check."""
    timeout = 15
    started = time.monotonic()
    job = sbatch(
        *TWO_NODES,
        "--export=ALL,MASTER_ADDR=no-such-node.invalid",
        overrides=[*TINY, f"trainer.strategy.timeout.seconds={timeout}"],
        log_dir=tmp_path,
    )
    assert wait_for_end(job, tmp_path, seconds=timeout + 120) == "FAILED"
    assert time.monotonic() - started < timeout + 120
    output = (tmp_path / f"slurm-{job}.out").read_text()
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert errors, output[-3000:]
    assert all("could not meet at no-such-node.invalid:" in line for line in errors), errors
    assert "getent hosts no-such-node.invalid" in errors[0] and "firewall" in errors[0]
