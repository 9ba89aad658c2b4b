"""Smoke runs of the `benchmarks/` scripts at tiny sizes, so they keep working; their
timings are measured by running them (docs/benchmarks.md, docs/results.md), not asserted here."""

from pathlib import Path

import torch

from dlnotes.train import train
from helpers.benchmarks import load_benchmark
from helpers.compose import compose_config, fast_overrides


def tiny_detector_checkpoint(model: str, tmp_path: Path) -> Path:
    overrides = fast_overrides(
        f"model={model}",
        "data=digit_scenes_detection",
        "data.train_size=4",
        "data.val_size=4",
        "data.test_size=4",
        "debug=fdr",
    )
    _, objects = train(compose_config(overrides, tmp_path / model))
    path = tmp_path / f"{model}.ckpt"
    objects["trainer"].save_checkpoint(path)
    return path


def test_detection_speed_times_and_scores_each_detector(tmp_path, capsys):
    checkpoints = [f"{m}={tiny_detector_checkpoint(m, tmp_path)}" for m in ("rcnn", "fast_rcnn")]
    speed = load_benchmark("detection_speed").main([*checkpoints, "n=4", "batch_size=2"])
    assert set(speed) == {"rcnn", "fast_rcnn"} and all(v > 0 for v in speed.values())
    printed = capsys.readouterr().out
    assert "4 test scenes" in printed and "Fast R-CNN / R-CNN:" in printed
    assert printed.count("mAP@0.5") == 2


def test_parity_runs_both_loops_with_equal_first_losses():
    result = load_benchmark("parity").main(
        ["epochs=2", "repeats=1", "compare_steps=3", "batches=3", "data=digits"]
    )
    assert result["ours"] > 0 and result["plain"] > 0
    assert result["loss_difference"] == 0.0  # same weights, batches and seed: the same losses


def test_input_pipeline_times_ours_and_a_per_sample_loader(capsys):
    share = load_benchmark("input_pipeline").main(
        ["epochs=1", "batch_size=32", "batches=3", "data=digits"]
    )
    assert set(share) == {"ours", "loader"} and all(value > 0 for value in share.values())
    assert "data time per batch (median), loader / ours:" in capsys.readouterr().out


def test_fast_paths_measures_each_variant():
    speed = load_benchmark("fast_paths").main(
        ["models=nin", "steps=2", "warmup=1", "variants=fp32,bf16+channels_last"]
    )
    assert set(speed) == {("nin", "fp32"), ("nin", "bf16+channels_last")}
    assert all(value > 0 for value in speed.values())


def test_startup_measures_train_py_to_its_first_step():
    result = load_benchmark("startup").main(["repeats=1", "logger=none", "trainer.max_epochs=1"])
    assert result["imports"] > 0 and result["first_step"] > 0
    # a NIN run with no logger needs none of the heavy optional packages
    assert result["optional_loaded"] == "-"


def test_synthetic_data_has_the_asked_shape_and_trains(tmp_path):
    overrides = fast_overrides(
        "data=synthetic",
        "data.image_shape=[3,24,24]",
        "data.num_classes=5",
        "data.train_size=16",
        "data.val_size=8",
        "data.test_size=8",
        "debug=fdr",
    )
    _, objects = train(compose_config(overrides, tmp_path))
    images, labels = objects["datamodule"].split("train")
    assert images.shape == (16, 3, 24, 24) and images.dtype == torch.uint8
    assert int(labels.min()) >= 0 and int(labels.max()) < 5
    assert objects["model"].net(images[:2].float()).shape == (2, 5)
