"""provenance.json: the commit and whether the tree was dirty, the command line, the package
versions and the devices, in every run directory (a Hydra callback every entry point has)."""

import json
import subprocess
import sys
from importlib import metadata

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from dlnotes.run.provenance import SLURM_VARIABLES, ProvenanceFile, git_state, provenance
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.paths import CONF, ROOT

ENTRY_CONFIGS = ["train", "eval", "sample", "inspect", "predict", "export"]


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def test_provenance_names_the_commit_the_dirty_tree_the_versions_and_devices():
    git_state.cache_clear()  # a process keeps the state it started with; here, read it now
    found = provenance()
    assert found["git"]["commit"] == git("rev-parse", "HEAD").strip()
    assert found["git"]["dirty"] == bool(git("status", "--porcelain").strip())
    assert found["versions"]["torch"] == metadata.version("torch")
    assert found["versions"]["lightning"] == metadata.version("lightning")
    assert found["versions"]["hydra"] == metadata.version("hydra-core")
    assert found["versions"]["torchmetrics"] == metadata.version("torchmetrics")
    assert found["versions"]["wandb"] == metadata.version("wandb")
    assert found["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert found["devices"]["cpu"] and isinstance(found["devices"]["gpus"], list)


def test_the_command_line_is_kept_without_its_secrets(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_123")
    argv = ["train.py", "model=vae", "+logger.wandb.api_key=abcd1234", "x=hf_secret_value_123"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None)
    command = provenance()["command"]
    assert command.startswith("python train.py model=vae ")
    assert "abcd1234" not in command and "hf_secret_value_123" not in command


@pytest.mark.parametrize("config_name", ENTRY_CONFIGS)
def test_every_entry_point_writes_provenance_into_its_run_directory(config_name, tmp_path):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config_name, return_hydra_config=True)
    callback = cfg.hydra.callbacks.provenance
    assert callback._target_ == "dlnotes.run.provenance.ProvenanceFile"
    job = OmegaConf.create({"hydra": {"runtime": {"output_dir": str(tmp_path)}}})
    ProvenanceFile().on_job_start(config=job)
    written = json.loads((tmp_path / "provenance.json").read_text())
    assert set(written) >= {"git", "command", "versions", "devices"}


def test_a_slurm_job_is_named_with_its_nodes_and_each_rank_s_node(monkeypatch, tmp_path):
    """Inside a Slurm job: its id, partition, node list and restarts; outside, null. A run's
    provenance.json gets each rank's node once the ranks have met (one rank here: this one's
    Slurm node name, which several slurmd on one host do not share)."""
    for variable in SLURM_VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    assert provenance()["slurm"] is None
    slurm = {"SLURM_JOB_ID": "41", "SLURM_JOB_NODELIST": "node[1-2]", "SLURM_JOB_NUM_NODES": "2"}
    for variable, value in {**slurm, "SLURMD_NODENAME": "node2"}.items():
        monkeypatch.setenv(variable, value)
    job = provenance()["slurm"]
    assert (job["job_id"], job["node_list"], job["nodes"]) == ("41", "node[1-2]", "2")
    run_dir = tmp_path / "run"
    train(compose_config(fast_overrides("data.image_size=8", "+trainer.fast_dev_run=1"), run_dir))
    recorded = json.loads((run_dir / "provenance.json").read_text())
    assert recorded["ranks"] == [{"rank": 0, "node": "node2"}]
    assert recorded["slurm"]["job_id"] == "41"
