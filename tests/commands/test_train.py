"""`train()` end to end on the digits (a few batches), then `evaluate()` on its checkpoint."""

import csv
import json
import os
import pickle
from pathlib import Path

import pytest
import torch

from dlnotes.checkpoints.load import CHECKPOINT_KEY, load_checkpoint, model_from_checkpoint
from dlnotes.errors import ConfigError, TrainingDiverged, user_error
from dlnotes.evaluate import evaluate
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.data import write_image_folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A NIN trained 2 short epochs with the CSV logger."""
    out = tmp_path_factory.mktemp("run")
    cfg = compose_config(fast_overrides("debug=limit", "logger=csv", "data.batch_size=16"), out)
    monitored, objects = train(cfg)
    return cfg, monitored, objects, out


def test_run_directory_holds_config_metrics_checkpoints_and_images(trained):
    _, _, _, out = trained
    assert (out / "config_tree.log").is_file() and (out / "config_resolved.yaml").is_file()
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train/loss_step", "val/acc", "val/acc_top5", "test/acc", "lr-SGD"} <= set(header)
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert len(list((out / "checkpoints").glob("epoch_*.ckpt"))) == 1
    assert list((out / "images").glob("test_confusion_matrix_*.png"))


def test_returns_best_monitored_value_and_tests_the_best_checkpoint(trained):
    _, monitored, objects, _ = trained
    checkpoint = objects["trainer"].checkpoint_callback
    assert monitored == pytest.approx(float(checkpoint.best_model_score))
    assert 0.0 <= monitored <= 1.0
    assert 0.0 <= objects["metrics"]["test/acc"] <= 1.0


def test_result_json_records_the_finished_run(trained):
    cfg, monitored, objects, out = trained
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed" and result["error"] is None
    assert result["monitor"] == "val/acc" and result["monitored"] == monitored
    assert result["metrics"]["test/acc"] == objects["metrics"]["test/acc"]


def test_a_diverging_run_stops_with_a_one_line_reason_and_is_recorded(tmp_path):
    # SGD at lr=1e9 sends the (batch-normalized) net's validation loss to nan in one epoch
    cfg = compose_config(fast_overrides("debug=limit", "model.optimizer.lr=1e9"), tmp_path)
    with pytest.raises(
        TrainingDiverged, match=r"training diverged: (train|val)/loss\S* = (nan|inf)"
    ):
        train(cfg)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "failed" and "training diverged" in result["error"]
    assert user_error(TrainingDiverged("x")) == "x"  # printed as one line by train.py


def test_checkpoint_carries_its_resolved_config(trained):
    _, _, _, out = trained
    checkpoint = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    saved = checkpoint[CHECKPOINT_KEY]
    assert saved["model"]["net"]["_target_"] == "dlnotes.nets.nin.NIN"
    assert saved["data"]["image_shape"] == [1, 32, 32] and saved["data"]["num_classes"] == 10


def eval_config(ckpt, out, *extra):
    overrides = ["trainer=cpu", "logger=none", "callbacks=none", f"ckpt_path={ckpt}", *extra]
    return compose_config(overrides, out, config_name="eval")


def test_evaluate_reproduces_the_test_accuracy_of_the_best_checkpoint(trained, tmp_path):
    _, _, objects, _ = trained
    best = objects["trainer"].checkpoint_callback.best_model_path
    overrides = ["data.batch_size=16", "+trainer.limit_test_batches=2"]
    results = evaluate(eval_config(best, tmp_path, *overrides))
    assert results["test/acc"] == pytest.approx(objects["metrics"]["test/acc"], abs=1e-6)


def test_evaluate_rejects_a_checkpoint_for_other_data(trained, tmp_path, mnist_dir):
    ckpt = trained[3] / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match=r"trained on 10 classes of 1×32×32.*1×28×28"):
        cfg = eval_config(ckpt, tmp_path, "data=mnist", f"data.data_dir={mnist_dir}")
        evaluate(cfg, chosen_groups={"data"})


def test_evaluate_rejects_a_checkpoint_of_another_model(trained, tmp_path):
    ckpt = trained[3] / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match="does not fit model dlnotes.nets.resnet.ResNet50"):
        evaluate(eval_config(ckpt, tmp_path, "model=resnet50"), chosen_groups={"model"})


def test_evaluate_missing_checkpoint(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        evaluate(eval_config(tmp_path / "nope.ckpt", tmp_path))


class RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused_not_executed(tmp_path):
    marker = tmp_path / "executed"
    ckpt = tmp_path / "evil.ckpt"
    with open(ckpt, "wb") as file:
        pickle.dump({"state_dict": {}, "payload": RunsCode(marker)}, file)
    with pytest.raises(ConfigError, match="refused to load"):
        evaluate(eval_config(ckpt, tmp_path))
    assert not marker.exists()


def test_a_loss_turning_nan_keeps_the_last_good_checkpoint(tmp_path):
    poison = "+callbacks.poison._target_=helpers.probe_callbacks.PoisonWeightsAtEpoch"  # at epoch 1
    cfg = compose_config(fast_overrides("debug=limit", "test=false", poison), tmp_path)
    with pytest.raises(
        TrainingDiverged, match=r"^training diverged: train/loss\S* = nan at epoch 1, step 4;"
    ):
        train(cfg)
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert load_checkpoint(last)["epoch"] == 0  # written after epoch 0, not replaced
    model = model_from_checkpoint(last)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "failed" and result["error"].startswith("training diverged")


def test_gradient_norms_are_logged_when_switched_on(trained, tmp_path):
    overrides = ("debug=limit", "logger=csv", "test=false", "callbacks.grad_norm.enabled=true")
    train(compose_config(fast_overrides(*overrides), tmp_path))
    with open(tmp_path / "metrics.csv") as file:
        norms = [row["train/grad_2.0_norm_total"] for row in csv.DictReader(file)]
    assert [float(n) for n in norms if n] and all(float(n) > 0 for n in norms if n)
    default_header = (trained[3] / "metrics.csv").read_text().splitlines()[0]
    assert "grad_2.0_norm" not in default_header  # off by default


def resume_config(ckpt, out, *extra):
    return compose_config(fast_overrides("debug=limit", f"ckpt_path={ckpt}", *extra), out)


def test_resuming_a_checkpoint_of_another_model_is_refused(trained, tmp_path):
    ckpt = trained[3] / "checkpoints" / "last.ckpt"
    with pytest.raises(
        ConfigError,
        match=r"is a checkpoint of dlnotes.nets.nin.NIN, this run builds dlnotes.tasks.vae.VAETask",
    ):
        train(resume_config(ckpt, tmp_path, "model=vae"))


def test_resuming_on_data_with_other_classes_is_refused(trained, tmp_path):
    ckpt = trained[3] / "checkpoints" / "last.ckpt"
    root = write_image_folder(tmp_path / "images", classes=3)
    data = ["data=image_folder", f"data.root={root}", "data.channels=1"]
    with pytest.raises(
        ConfigError, match=r"trained on 10 classes of 1×32×32 images; this data has 3 classes"
    ):
        train(resume_config(ckpt, tmp_path / "run", *data))


def test_resuming_from_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker, ckpt = tmp_path / "executed", tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": RunsCode(marker)}, ckpt)  # torch's own format
    with pytest.raises(
        ConfigError, match=r"refused to load .*evil.ckpt: it holds pickled objects"
    ) as refused:
        train(resume_config(ckpt, tmp_path / "run"))
    assert "GLOBAL posix.system" in str(refused.value)  # what was refused, not "retry unsafely"
    assert "weights_only` set to `False`" not in str(refused.value)
    assert not marker.exists()
