"""What only the command line shows: `--help`, one-line errors with exit code 1, and a real
train → eval round trip through `python train.py` / `python eval.py`."""

import subprocess
import sys
from pathlib import Path

from helpers.paths import ROOT

QUIET = ["logger=none", "callbacks.progress_bar=null", "callbacks.model_summary=null"]


def run(script: str, *args: str, log_dir: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / script), *args, f"paths.log_dir={log_dir}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line
    return line


def no_checkpoint_written(log_dir: Path) -> bool:
    return not list(log_dir.rglob("*.ckpt"))


def test_help_lists_groups_and_options(tmp_path):
    out = run("train.py", "--help", log_dir=tmp_path).stdout
    listing = out.split("== Configuration groups ==")[1].split("== Config ==")[0]
    groups = dict(line.split(": ", 1) for line in listing.splitlines() if ": " in line)
    expected = {
        "model": {"nin", "resnet50", "vae", "vae_mlp"},
        "data": {"digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "svhn", "image_folder"},
        "trainer": {"cpu", "ddp", "ddp_cpu", "default", "gpu"},
        "logger": {"csv", "none", "tensorboard", "wandb"},
        "callbacks": {"default", "early_stopping", "none"},
        "debug": {"fdr", "limit", "overfit", "profiler"},
    }
    for group, options in expected.items():
        assert options <= set(groups[group].split(", ")), group


def test_unknown_group_option_lists_the_valid_ones(tmp_path):
    result = run("train.py", "model=vea", log_dir=tmp_path)
    assert result.returncode != 0
    assert "Could not find 'model/vea'" in result.stderr
    assert "nin" in result.stderr and "resnet50" in result.stderr


def test_unknown_key_is_named_on_the_first_line(tmp_path):
    result = run("train.py", "trainer.max_epoch=3", log_dir=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Could not override 'trainer.max_epoch'."
    assert "To append to your config use +trainer.max_epoch=3" in lines[1]


def test_unwritable_run_directory_is_one_line_not_a_traceback(tmp_path):
    result = run("train.py", *QUIET, log_dir=Path("/proc/dlnotes"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: cannot write to /proc/dlnotes/train/runs/")
    assert first.endswith("set hydra.run.dir (or paths.log_dir) to a folder you can write to")


def test_unwritable_sweep_directory_is_one_line_not_a_traceback():
    result = run("train.py", "-m", "seed=1,2", *QUIET, log_dir=Path("/proc/dlnotes"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("error: cannot write to /proc/dlnotes/train/multiruns/")
    assert lines[0].endswith("set hydra.sweep.dir (or paths.log_dir) to a folder you can write to")


def test_wrong_value_is_one_line_with_exit_status_1(tmp_path):
    # one error found in the run, through the whole command line (the other values, a model
    # that does not fit the data and a missing dataset: tests/commands/test_user_errors.py,
    # through the same run_cli in this process)
    result = run("train.py", "trainer.max_epochs=abc", *QUIET, log_dir=tmp_path)
    assert_one_line_error(result, "trainer.max_epochs='abc'", "integer")
    assert no_checkpoint_written(tmp_path)


def test_eval_requires_a_checkpoint(tmp_path):
    assert_one_line_error(run("eval.py", log_dir=tmp_path), "ckpt_path is required")


def test_train_then_eval_from_the_command_line(tmp_path):
    train = run(
        "train.py", "debug=limit", "logger=csv", "callbacks.progress_bar=null", log_dir=tmp_path
    )
    assert train.returncode == 0, train.stderr[-3000:]
    (run_dir,) = (tmp_path / "train" / "runs").iterdir()
    assert (run_dir / "metrics.csv").is_file() and (run_dir / ".hydra" / "config.yaml").is_file()
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    evaluation = run("eval.py", f"ckpt_path={ckpt}", "callbacks=none", log_dir=tmp_path)
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert "test/acc" in evaluation.stdout
    (eval_dir,) = (tmp_path / "eval" / "runs").iterdir()
    assert (eval_dir / "config_tree.log").is_file()


def test_multirun_gives_each_job_its_own_directory(tmp_path):
    args = ["-m", "model.optimizer.lr=1e-3,3e-4", "debug=fdr", *QUIET]
    result = run("train.py", *args, log_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "train" / "multiruns").iterdir()
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert jobs == ["0", "1"]
    for job, lr in zip(jobs, ["0.001", "0.0003"], strict=True):
        overrides = (sweep / job / ".hydra" / "overrides.yaml").read_text()
        assert f"model.optimizer.lr={lr}" in overrides
        assert (sweep / job / "config_tree.log").is_file()
