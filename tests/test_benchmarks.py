"""Smoke runs of the `benchmarks/` scripts at tiny sizes, so they keep working; their
timings are measured by running them (docs/benchmarks.md, docs/results.md), not asserted here."""

import importlib.util
from pathlib import Path

import pytest

from conftest import compose_config, fast_overrides
from dlnotes.train import train

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    pytest.importorskip("cv2.ximgproc", reason="selective search needs opencv-contrib")
    checkpoints = [f"{m}={tiny_detector_checkpoint(m, tmp_path)}" for m in ("rcnn", "fast_rcnn")]
    speed = load_benchmark("detection_speed").main([*checkpoints, "n=4", "batch_size=2"])
    assert set(speed) == {"rcnn", "fast_rcnn"} and all(v > 0 for v in speed.values())
    printed = capsys.readouterr().out
    assert "4 test scenes" in printed and "Fast R-CNN / R-CNN:" in printed
    assert printed.count("mAP@0.5") == 2
