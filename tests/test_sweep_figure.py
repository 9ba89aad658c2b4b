"""An experiment's figure and table, drawn from its jobs' metrics.csv files."""

import json

from dlnotes.callbacks.sweep_figure import draw


def fake_job(sweep, job: int, norm: str, accuracies: list[float]) -> None:
    job_dir = sweep / str(job)
    job_dir.mkdir()
    overrides = ["data=mnist", f"model.net.norm={norm}"]
    result = {"job": job, "overrides": overrides, "output_dir": str(job_dir), "status": "completed"}
    (job_dir / "result.json").write_text(json.dumps(result))
    rows = ["epoch,step,val/acc,train/loss_step"]
    for epoch, accuracy in enumerate(accuracies):
        rows += [f"{epoch},{epoch * 10 + 5},,0.5", f"{epoch},{epoch * 10 + 9},{accuracy},"]
    (job_dir / "metrics.csv").write_text("\n".join(rows) + "\n")


def test_figure_and_epochs_to_reach_the_threshold(tmp_path):
    fake_job(tmp_path, 0, "batchnorm", [0.9, 0.985, 0.99])
    fake_job(tmp_path, 1, "none", [0.5, 0.7, 0.8])
    table = draw(tmp_path, ["val/acc"], name="bn", threshold=0.98)
    assert (tmp_path / "bn.png").stat().st_size > 1000
    assert (tmp_path / "bn.md").read_text() == table
    lines = table.splitlines()
    assert lines[2] == "| norm=batchnorm | 0.9900 | 0.9900 | 2 |"  # 1-based: after epoch 2
    assert lines[3] == "| norm=none | 0.8000 | 0.8000 | not reached |"
