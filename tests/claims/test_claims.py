"""The notes' claims as data: every claim runs end to end at its smoke scale through the
command users type, and the measure, the verdict and the report are checked on known values."""

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from dlnotes.claims import report as report_module
from dlnotes.claims import run as run_module
from dlnotes.claims.__main__ import main as claims_main
from dlnotes.claims.measure import CENSORED, job_measure, verdict
from dlnotes.claims.spec import DATA_VARIABLE, claim_names, load_claim
from dlnotes.errors import ConfigError
from dlnotes.sweeps.summary import collect_results
from dlnotes.train import train
from helpers.compose import compose_config
from helpers.paths import ROOT
from helpers.processes import subprocess_env

CLAIMS = claim_names()


@pytest.fixture(autouse=True)
def tiny_claims_data(monkeypatch, mnist_dir):
    """Claims on MNIST read the tiny copy the tests write (`${data_dir}` in a claim file)."""
    monkeypatch.setenv(DATA_VARIABLE, str(mnist_dir))


def test_there_are_claims_and_each_quotes_the_notebook():
    notebook = ROOT.parent / "shared" / "seeds" / "000_6ba6ad652df2645b.txt"
    text = notebook.read_text() if notebook.is_file() else None
    assert {"bn", "bn_gamma_beta", "nin_head"} <= set(CLAIMS)
    for name in CLAIMS:
        claim = load_claim(name)
        assert claim.notebook and claim.translation and claim.holds_when
        if text is not None:  # the quote is the notebook's own words (… marks a cut)
            for part in claim.notebook.split("……"):
                assert part.strip() in text, (name, part)


@pytest.mark.parametrize("name", CLAIMS)
def test_every_arm_composes_at_full_scale(name, tmp_path):  # the smoke scale runs below
    claim = load_claim(name)
    for arm in claim.arms:
        cfg = compose_config([*claim.common, *arm.overrides, "seed=1"], tmp_path)
        assert cfg.model is not None


def check_smoke_record(record: dict) -> None:
    assert record["scale"] == "smoke" and record["commit"] and record["machine"]
    assert record["cpu"] and record["cores"] >= 1 and record["started"] <= record["ended"]
    assert record["load_average_start"] >= 0 and record["load_average_end"] >= 0
    for arm in record["arms"]:
        assert arm["n"] == 2 and arm["failed"] == 0 and arm["parameters"] > 0
        assert all(value is None or not math.isnan(value) for value in arm["values"])
        assert None not in arm["values"] or arm["censored_at"] > 0  # "> N", never N + 1
    assert record["comparison"]["verdict"].startswith(("holds", "does not hold", "not resolved"))


def test_the_claims_command_runs_a_claim_at_smoke_scale(tmp_path):
    """The command users type, end to end: its sweeps are `python train.py -m` subprocesses."""
    command = [
        sys.executable,
        "-m",
        "dlnotes.claims",
        "run",
        "bn",
        "scale=smoke",
        f"out={tmp_path}",
    ]
    env = subprocess_env() | {DATA_VARIABLE: os.environ[DATA_VARIABLE]}
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    check_smoke_record(json.loads((tmp_path / "bn.json").read_text()))
    assert (tmp_path / "BN" / "summary.md").is_file()  # a real sweep's summary


def expand_seeds(overrides: list[str]) -> list[list[str]]:
    """A smoke sweep's jobs: its only comma list is `seed=1,2`."""
    seeds = next(o for o in overrides if o.startswith("seed=")).split("=", 1)[1].split(",")
    rest = [o for o in overrides if not o.startswith("seed=")]
    assert not any("," in o and "[" not in o for o in rest), rest  # nothing else is swept
    return [[*rest, f"seed={seed}"] for seed in seeds]


def in_process_run(overrides: list[str], run_dir: Path) -> bool:
    """What `python train.py OVERRIDES hydra.run.dir=RUN_DIR` does, in this process (with the
    composed config saved where Hydra saves it)."""
    cfg = compose_config(overrides, run_dir)
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    train(cfg)
    return True


def in_process_sweep(overrides: list[str], sweep_dir: Path) -> list[dict]:
    for job, job_overrides in enumerate(expand_seeds(overrides)):
        in_process_run(job_overrides, sweep_dir / str(job))
    return collect_results(sweep_dir)


@pytest.mark.parametrize("name", [name for name in CLAIMS if name != "bn"])
def test_each_claim_runs_at_smoke_scale(name, tmp_path, monkeypatch):
    """Every claim's smoke scale through run_claim, its train.py jobs run in this process (the
    subprocess path is the test above): each claim's configs, prepare steps, after-training
    measures and verdict keep working."""
    monkeypatch.setattr(run_module, "sweep", in_process_sweep)
    monkeypatch.setattr(run_module, "single_run", in_process_run)
    record = run_module.run_claim(load_claim(name), "smoke", tmp_path)
    check_smoke_record(record)


def test_unknown_claim_and_scale_are_one_line_errors():
    # the command line prints a ConfigError as one line with exit status 1 (one process shows
    # it); which errors are ConfigErrors is checked in this process
    done = subprocess.run(
        [sys.executable, "-m", "dlnotes.claims", "run", "nope"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1 and done.stderr.startswith("error: ")
    assert len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(ConfigError, match="scale=huge: choose full or one of"):
        claims_main(["run", "bn", "scale=huge"])
    with pytest.raises(ConfigError):
        claims_main(["run", "nope"])


# --- measures and verdicts on known values ----------------------------------------------------


def fake_job(tmp_path, accuracies, status="completed", max_epochs=4, **metrics):
    job = tmp_path / f"job{len(list(tmp_path.iterdir()))}"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "config.yaml").write_text(f"trainer:\n  max_epochs: {max_epochs}\n")
    rows = ["epoch,val/acc"] + [f"{i},{a}" for i, a in enumerate(accuracies)]
    (job / "metrics.csv").write_text("\n".join(rows) + "\n")
    return {"output_dir": str(job), "status": status, "metrics": metrics}


def test_epochs_to_a_threshold_is_one_based_and_never_is_censored(tmp_path):
    measure = {"kind": "epochs_to", "metric": "val/acc", "threshold": 0.98}
    assert job_measure(fake_job(tmp_path, [0.9, 0.985, 0.99]), measure) == 2
    assert job_measure(fake_job(tmp_path, [0.5, 0.6]), measure) == CENSORED  # not 5 = N + 1
    assert job_measure(fake_job(tmp_path, [0.99], status="failed"), measure) == CENSORED


EPOCHS_TO = {"kind": "epochs_to", "metric": "val/acc", "threshold": 0.98}


def censored_arms(claimed: list[float], other: list[float], other_grid: dict) -> list[dict]:
    return [
        {"name": "BN", "values": claimed, "tuning": {0.01: 2.0}, "censored_at": 6},
        {"name": "no BN", "values": other, "tuning": other_grid, "censored_at": 6},
    ]


def test_a_censored_arm_is_never_averaged_and_is_reported_as_censored():
    claim = replace(load_claim("bn"), measure=EPOCHS_TO, better="lower")
    arms = censored_arms([2.0, 3.0, 2.0], [4.0, CENSORED, CENSORED], {0.01: CENSORED})
    comparison = run_module.compare(claim, arms)
    assert "Mann–Whitney" in comparison["test"] and comparison["reached"] == [3, 1]
    for arm in arms:
        run_module.summarise(arm)
    assert arms[1]["mean"] is None and arms[1]["reached"] == 1  # no mean over "> 6"
    assert arms[1]["values"] == [4.0, None, None] and arms[0]["mean"] == pytest.approx(7 / 3)


def test_an_arm_that_never_trained_at_any_rate_gets_the_strong_verdict():
    claim = replace(load_claim("bn"), measure=EPOCHS_TO, better="lower")
    never = {lr: CENSORED for lr in (3e-4, 3e-3, 3e-2)}
    arms = censored_arms([2.0, 3.0, 2.0], [CENSORED] * 3, never)
    verdict_text = run_module.compare(claim, arms)["verdict"]
    assert verdict_text.startswith("holds, strong form: no BN never reached val/acc ≥ 0.98")
    assert "within 6 epochs at any rate of its grid" in verdict_text
    # one rate of the grid reached it: not the strong form (3 against 3 ranks: p = 0.05)
    arms = censored_arms([2.0, 3.0, 2.0], [CENSORED] * 3, {**never, 0.1: 5.0})
    assert not run_module.compare(claim, arms)["verdict"].startswith("holds, strong")


def test_a_tie_in_tuning_is_reported():
    assert run_module.tied_rates({0.003: 6.0, 0.01: 3.0, 0.03: 3.0}, 0.01) == [0.01, 0.03]
    assert run_module.tied_rates({0.003: 6.0, 0.01: 3.0}, 0.01) == [0.01]
    censored = {0.003: CENSORED, 0.01: CENSORED}
    assert run_module.tied_rates(censored, 0.003) == [0.003, 0.01]


def test_gap_and_final_measures(tmp_path):
    job = fake_job(tmp_path, [], **{"train/acc": 0.99, "val/acc": 0.95})
    gap = {"kind": "gap", "metric": "train/acc", "minus": "val/acc"}
    assert job_measure(job, gap) == pytest.approx(0.04)
    assert job_measure(job, {"kind": "final", "metric": "val/acc"}) == 0.95
    assert math.isnan(
        job_measure({**job, "status": "failed"}, {"kind": "final", "metric": "val/acc"})
    )


def test_verdicts():
    assert verdict([2, 2, 3], [6, 7, 7], better="lower")["verdict"] == "holds"
    assert verdict([6, 7, 7], [2, 2, 3], better="lower")["verdict"] == "does not hold"
    assert verdict([0.5, 0.7, 0.6], [0.55, 0.75, 0.6], "higher")["verdict"].startswith(
        "not resolved"
    )
    result = verdict([0.9, 0.91, 0.92], [0.8, 0.81, 0.82], "higher")
    assert result["difference"] == pytest.approx(0.1) and result["p_value"] < 0.01
    low, high = result["difference_ci"]
    assert low < 0.1 < high


def test_each_arm_gets_its_own_best_rate(monkeypatch, tmp_path):
    """The tuning sweep's learning rates ranked by the measure (failed: last)."""
    claim = load_claim("bn")
    scores = {0.003: 6, 0.01: 3, 0.03: 3, 0.1: math.nan}

    swept = []

    def fake_sweep(overrides, sweep_dir):
        swept.append(overrides)
        return [{"overrides": [f"model.optimizer.lr={lr}"], "score": s} for lr, s in scores.items()]

    monkeypatch.setattr(run_module, "sweep", fake_sweep)
    monkeypatch.setattr(run_module, "job_measure", lambda result, measure: result["score"])
    rate, tuning = run_module.best_rate(claim, claim.arms[0], [], tmp_path)
    assert rate == 0.01 and tuning[0.003] == 6  # the tie 0.01 / 0.03 goes to the smaller
    # scored by the epoch it reached the threshold, a tuning run stops there
    threshold = claim.measure["threshold"]
    assert f"+callbacks.stop_once_reached.stopping_threshold={threshold}" in swept[0]
    higher = replace(claim, tune_on={"kind": "final", "metric": "val/acc", "better": "higher"})
    assert run_module.best_rate(higher, claim.arms[0], [], tmp_path)[0] == 0.003
    assert not any("stop_once_reached" in o for o in swept[1])  # a final measure runs them all


def test_report_writes_the_claims_part_of_the_notes_from_the_records(tmp_path, monkeypatch):
    records, notes = tmp_path / "claims", tmp_path / "notes.md"
    records.mkdir()
    notes.write_text("# Notes\n\nIntro.\n\n## Earlier section\n\nkept\n")
    record = {
        "claim": "bn",
        "scale": "full",
        "overrides": load_claim("bn").common,  # as measured: the claim file's own design
        "date": "2026-11-30",
        "commit": "abc1234",
        "machine": "x86_64, 2 CPU cores",
        "wall_s": 600.0,
        "arms": [
            {
                "name": "BN",
                "overrides": ["model.net.norm=batchnorm"],
                "lr": 0.03,
                "tuning": {"0.01": 3, "0.03": 2},
                "parameters": 1000,
                "values": [2.0, 2.0, 3.0],
                "also": {"val/acc": [0.99, 0.99, 0.98]},
                "n": 3,
                "mean": 2.333,
                "ci": [0.9, 3.8],
            },
            {
                "name": "no BN",
                "overrides": ["model.net.norm=none"],
                "lr": 0.01,
                "tuning": {},
                "parameters": 1100,
                "values": [6.0, 7.0, 7.0],
                "also": {},
                "n": 3,
                "mean": 6.667,
                "ci": [5.2, 8.1],
            },
        ],
        "comparison": {
            "verdict": "holds",
            "difference": -4.333,
            "difference_ci": [-6.0, -2.7],
            "p_value": 0.004,
            "confidence": 0.95,
        },
    }
    (records / "bn.json").write_text(json.dumps(record))
    report_module.report(records, notes)
    text = notes.read_text()
    assert text.index("Intro.") < text.index(report_module.BEGIN) < text.index("## Earlier")
    assert "kept" in text and "**Verdict: holds.** Measured 2026-11-30 at commit abc1234" in text
    assert "| BN | `model.net.norm=batchnorm` | 1,000 | 0.03 (of 0.01, 0.03) | 3 |" in text
    assert "Not measured in this design yet: `python -m dlnotes.claims run nin_head`" in text
    assert "**Plainly.** Hold after Holm's correction: [Batch Normalization" in text
    assert (tmp_path / "figures" / "claim_bn.png").is_file()
    report_module.report(records, notes)  # again: the generated part is replaced, not added
    assert notes.read_text() == text


def test_a_claim_file_must_compare_at_least_two_arms(monkeypatch, tmp_path):
    text = (ROOT / "conf/claims/bn.yaml").read_text()
    one_arm = text.replace("  - {name: no BN, overrides: [model.net.norm=none]}\n", "")
    (tmp_path / "one.yaml").write_text(one_arm)
    (tmp_path / "three.yaml").write_text(
        text.replace("arms:\n", "arms:\n  - {name: c, overrides: []}\n")
    )
    monkeypatch.setattr("dlnotes.claims.spec.CLAIMS_DIR", tmp_path)
    with pytest.raises(ConfigError, match="two arms"):
        load_claim("one")
    assert [arm.name for arm in load_claim("three").arms] == ["c", "BN", "no BN"]


def test_one_arm_claims_test_the_paired_difference_against_zero():
    """A claim about two metrics of the same runs (one arm, measure gap): one-sample t-test."""
    differ = verdict([0.10, 0.12, 0.11], None, "nonzero")
    assert differ["verdict"] == "holds" and differ["test"] == "one-sample t-test"
    assert differ["difference"] == pytest.approx(0.11) and differ["p_value"] < 0.01
    assert verdict([0.1, -0.1, 0.02], None, "nonzero")["verdict"].startswith("not resolved")
    assert verdict([-0.10, -0.12, -0.11], None, "higher")["verdict"] == "does not hold"
    assert verdict([0.1], None, "nonzero")["verdict"].startswith("not resolved (fewer")


def test_a_prepare_step_hands_its_output_to_every_job(monkeypatch, tmp_path):
    """`prepare` runs train.py once; every job then gets `pass_as=<its run dir>/<file>`."""
    claim = load_claim("gan_smoothing")
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        run_dir = next(c.split("=", 1)[1] for c in command if c.startswith("hydra.run.dir="))
        (tmp_path / run_dir / "checkpoints").mkdir(parents=True)
        (tmp_path / run_dir / "checkpoints" / "last.ckpt").write_text("")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(run_module.subprocess, "run", fake_run)
    handed = run_module.prepared(claim, tmp_path / "out")
    assert commands[0][2] == "experiment=fid_features_mnist"
    assert f"data.data_dir={os.environ[DATA_VARIABLE]}" in commands[0]  # absolute, from any tree
    assert handed == [
        f"model.fid_features={tmp_path / 'out/prepare/fid_features/checkpoints/last.ckpt'}"
    ]
