"""Checkpoints written before the code was regrouped into its current folders still load in
eval.py, predict.py and `python -m dlnotes.export`.

tests/fixtures/checkpoints_before_layout.json holds, for each kind `train.py` trains in the
tests, everything such a checkpoint stored that names code or shapes: the saved data and model
config (with its `_target_` paths), the task's hyperparameters and the state_dict's keys and
shapes. A checkpoint is rebuilt from exactly that (weights drawn afresh) and used the way a
user would."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from dlnotes.checkpoints.load import CHECKPOINT_KEY, model_from_checkpoint
from dlnotes.evaluate import evaluate
from dlnotes.export import export
from dlnotes.predict import predict
from helpers.compose import compose_config
from helpers.paths import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "checkpoints_before_layout.json"
OLD = json.loads(FIXTURE.read_text())
KINDS = sorted(OLD["checkpoints"])
# what changed since, each with the value an old checkpoint means
SECOND_COPY = "forward_net."  # classifiers stored their net twice before compile was in place
NEW_HPARAMS = {"compile": False}  # model.compile for every task; the old ones did not compile
TEST_METRIC = {
    "classifier": "test/acc",
    "segmenter": "test/miou",
    "detector": "test/map50",
    "vae": "test/loss",
}


def old_checkpoint(kind: str, folder: Path) -> tuple[Path, dict]:
    """A checkpoint with the old one's config, hyperparameters and state_dict layout."""
    old = OLD["checkpoints"][kind]
    torch.manual_seed(0)
    model = instantiate(old["dlnotes_config"]["model"])
    state = model.state_dict()
    shapes = {key: list(tensor.shape) for key, tensor in state.items()}
    old_shapes = old["state_dict_shapes"]
    kept = {key: shape for key, shape in old_shapes.items() if not key.startswith(SECOND_COPY)}
    assert shapes == kept, f"{kind}: the state_dict's keys or shapes moved"
    hparams = {**NEW_HPARAMS, **old["hyper_parameters"]}
    assert dict(model.hparams) == hparams, f"{kind}: hyperparameters changed"
    state = {key: state[key.replace(SECOND_COPY, "net.", 1)] for key in old_shapes}
    checkpoint = {
        "epoch": 0,
        "global_step": 1,
        "pytorch-lightning_version": "2.6.6",
        "hparams_name": "kwargs",
        "hyper_parameters": old["hyper_parameters"],
        CHECKPOINT_KEY: old["dlnotes_config"],
        "state_dict": state,
    }
    path = folder / f"{kind}.ckpt"
    torch.save(checkpoint, path)
    return path, state


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i, size in enumerate([(20, 20), (40, 30)]):
        Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_the_fixture_has_every_kind_and_names_code_by_path():
    assert KINDS == ["classifier", "detector", "segmenter", "vae"]
    for old in OLD["checkpoints"].values():
        assert old["dlnotes_config"]["model"]["_target_"].startswith("dlnotes.tasks.")


@pytest.mark.parametrize("kind", KINDS)
def test_an_old_checkpoint_loads_evaluates_and_predicts(kind, tmp_path, images):
    ckpt, state = old_checkpoint(kind, tmp_path)
    loaded = model_from_checkpoint(ckpt).state_dict()
    assert all(torch.equal(loaded[key], state[key]) for key in loaded)  # its weights, not new ones

    overrides = ["trainer=cpu", "logger=none", "callbacks=none", f"ckpt_path={ckpt}"]
    overrides += ["+trainer.limit_test_batches=1"]
    results = evaluate(compose_config(overrides, tmp_path / "eval", config_name="eval"))
    assert TEST_METRIC[kind] in results

    out = tmp_path / "predict"
    predict(compose_config([f"ckpt_path={ckpt}", f"input={images}"], out, "predict"))
    assert (out / "inputs.csv").read_text().count("\n") == 1 + 2  # header and both images


@pytest.mark.parametrize("kind", ["classifier", "segmenter"])
def test_an_old_checkpoint_exports(kind, tmp_path):
    ckpt, _ = old_checkpoint(kind, tmp_path)
    config = compose_config([f"ckpt_path={ckpt}", "format=torchscript"], tmp_path, "export")
    paths = export(config)
    assert paths["model"].is_file()
    assert json.loads(paths["preprocessing"].read_text())["check"]["max_abs_difference"] < 1e-4
