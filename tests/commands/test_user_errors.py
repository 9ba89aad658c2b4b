"""Bad input ends `train.py` with one line, `error: <what to change>`, and exit status 1: the
cases found in the run itself (devices, values, directories, data files), called the way
`train.py` calls `train`. tests/commands/test_cli.py runs the command line for Hydra's own
errors."""

import json
import os

import pytest
import torch

from dlnotes.errors import ConfigError
from dlnotes.run.cli import run_cli
from dlnotes.run.preflight import check_devices
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.data import write_image_folder


def error_line(overrides: list[str], tmp_path, capsys) -> str:
    cfg = compose_config(fast_overrides(*overrides), tmp_path / "run")
    with pytest.raises(SystemExit) as stopped:
        run_cli(train, cfg)
    stderr = capsys.readouterr().err
    assert stopped.value.code == 1 and "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("error: ")
    return line


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("trainer", ["gpu", "ddp"])
def test_gpu_trainer_without_a_gpu(trainer, no_gpu, tmp_path, capsys):
    line = error_line([f"trainer={trainer}"], tmp_path, capsys)
    assert "needs a GPU and this machine has none" in line and "use trainer=cpu" in line


def test_more_gpus_than_the_machine_has(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    cfg = compose_config(fast_overrides("trainer=ddp", "trainer.devices=4"), tmp_path)
    with pytest.raises(ConfigError, match=r"trainer.devices=4 but this machine has 1 GPU: "):
        check_devices(cfg)


def test_more_cpu_processes_than_cores(tmp_path, capsys):
    too_many = len(os.sched_getaffinity(0)) + 1
    line = error_line(["trainer=ddp_cpu", f"trainer.devices={too_many}"], tmp_path, capsys)
    assert f"trainer.devices={too_many} asks for {too_many} CPU processes" in line


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.devices=abc", "error: trainer.devices='abc' is not valid: it must be"),
        ("trainer.precision=bogus", "error: trainer: Precision 'bogus' is invalid."),
        ("+model.net.widthh=3", "error: model.net: NIN.__init__() got an unexpected keyword"),
    ],
)
def test_value_the_trainer_or_model_refuses(override, expected, tmp_path, capsys):
    assert error_line([override], tmp_path, capsys).startswith(expected)


def test_checkpoint_folder_that_cannot_be_written(tmp_path, capsys):
    line = error_line(["callbacks.last_checkpoint.dirpath=/proc/x"], tmp_path, capsys)
    assert line == (
        "error: cannot write to /proc/x (No such file or directory): "
        "set callbacks.last_checkpoint.dirpath to a folder you can write to"
    )
    assert json.loads((tmp_path / "run" / "result.json").read_text())["status"] == "failed"
    assert not list((tmp_path / "run").rglob("*.ckpt"))  # stopped before training


def test_corrupted_image_file_is_named(tmp_path, capsys):
    root = write_image_folder(tmp_path / "images", classes=3)
    broken = root / "class_1" / "broken.png"
    broken.write_bytes(b"not an image")
    data = ["data=image_folder", f"data.root={root}", "data.channels=1", "data.batch_size=64"]
    line = error_line([*data, "debug=fdr"], tmp_path, capsys)
    assert line == (
        f"error: a dataset file is not a readable image: cannot identify image file {broken}; "
        "delete or replace it"
    )


def no_checkpoint_written(folder) -> bool:
    return not list(folder.rglob("*.ckpt"))


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("data.batch_size=-1", ["data.batch_size=-1", "≥ 1"]),
        ("model.optimizer.lr=0", ["model.optimizer.lr=0", "> 0"]),
    ],
)
def test_wrong_value_names_the_key(override, fragments, tmp_path, capsys):
    line = error_line([override], tmp_path, capsys)
    assert all(fragment in line for fragment in fragments), line
    assert no_checkpoint_written(tmp_path)


def test_model_data_shape_mismatch_names_both_shapes(tmp_path, capsys):
    line = error_line(["model=resnet50", "model.net.pool=avg2x2"], tmp_path, capsys)
    assert "1×32×32" in line and "64×64" in line
    assert "ResNet50" in line and "Digits" in line
    assert no_checkpoint_written(tmp_path)


def test_missing_dataset_offline_names_folder_and_files(tmp_path, capsys):
    empty = tmp_path / "empty"
    overrides = ["data=mnist", f"data.data_dir={empty}", "data.download=false"]
    line = error_line(overrides, tmp_path, capsys)
    assert str(empty / "MNIST" / "raw") in line and "train-images-idx3-ubyte" in line
    assert no_checkpoint_written(tmp_path)
