"""An experiment's figure and table, drawn from its jobs' metrics.csv files."""

import json

from dlnotes.sweeps.figure import draw


def fake_job(sweep, job: int, norm: str, accuracies: list[float], seed: int = 0) -> None:
    job_dir = sweep / str(job)
    job_dir.mkdir()
    overrides = ["data=mnist", f"model.net.norm={norm}", f"seed={seed}"]
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


def test_seeds_of_one_arm_are_drawn_as_their_mean_with_a_band(tmp_path):
    for job, (norm, seed, accuracies) in enumerate(
        [
            ("batchnorm", 1, [0.90, 0.98]),
            ("batchnorm", 2, [0.92, 0.99]),
            ("none", 1, [0.50, 0.70]),
            ("none", 2, [0.60, 0.80]),
        ]
    ):
        fake_job(tmp_path, job, norm, accuracies, seed)
    table = draw(tmp_path, ["val/acc"], name="bn", threshold=0.98)
    lines = table.splitlines()
    assert lines[0].startswith("| arm | n | val/acc final, mean [95% CI] |")
    half = 12.706 * (0.01 / 2**0.5) / 2**0.5  # t(0.975, 1) · s / √2; 0.98, 0.99: s = 0.01/√2
    assert lines[2].startswith("| model.net.norm=batchnorm | 2 | 0.9850 [")
    low, high = (float(x) for x in lines[2].split("[")[1].split("]")[0].split(","))
    assert abs((high - low) / 2 - half) < 1e-3
    assert lines[2].endswith("| 2, 2 |") and lines[3].endswith("| not reached, not reached |")
    assert (tmp_path / "bn.png").stat().st_size > 1000
