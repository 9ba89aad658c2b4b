"""The report's statistics: Holm's correction on a hand-worked example, arms without spread,
the total time said to be sequential only when the records show it, records of an earlier
design kept apart, and the plain summary."""

from dataclasses import replace

import pytest

from dlnotes.claims import report as report_module
from dlnotes.claims.design import design, measured_as_designed
from dlnotes.claims.holm import adjusted_verdict, holm_adjusted
from dlnotes.claims.measure import verdict
from dlnotes.claims.overview import adjusted_p_values, plain_summary, sequence
from dlnotes.claims.section import clipped, ratio_lines, unmeasured_section
from dlnotes.claims.spec import DATA_VARIABLE, load_claim
from dlnotes.claims.words import link, shown_verdict


def test_holm_on_a_hand_worked_example():
    # sorted: 0.01 (×4 = 0.04), 0.02 (×3 = 0.06), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04 → 0.06,
    # the running maximum keeps the order)
    raw = {"a": 0.03, "b": 0.01, "c": 0.04, "d": 0.02}
    adjusted = holm_adjusted(raw)
    assert adjusted == pytest.approx({"b": 0.04, "d": 0.06, "a": 0.06, "c": 0.06})
    assert holm_adjusted({"only": 0.3}) == {"only": 0.3}
    assert holm_adjusted({"x": 0.5, "y": 0.6}) == {"x": 1.0, "y": 1.0}  # capped at 1


def test_a_verdict_that_loses_its_test_after_holm_says_so():
    assert adjusted_verdict("holds", 0.04) == "holds"
    assert adjusted_verdict("holds", 0.06) == "not resolved after Holm's correction (raw: holds)"
    assert adjusted_verdict("does not hold", 0.2).startswith("not resolved after Holm")
    strong = "holds, strong form: no BN never reached val/acc ≥ 0.98 within 6 epochs"
    assert adjusted_verdict(strong, 0.5) == strong  # rests on no test
    assert adjusted_verdict("not resolved (within noise)", 0.9) == "not resolved (within noise)"


def test_arms_without_spread_get_p_from_their_difference():
    same = verdict([0.5, 0.5, 0.5], [0.5, 0.5, 0.5], "higher")
    assert same["p_value"] == 1.0 and same["verdict"].startswith("not resolved")
    apart = verdict([0.9, 0.9, 0.9], [0.5, 0.5, 0.5], "higher")
    assert apart["p_value"] == 0.0 and apart["verdict"] == "holds"
    assert apart["difference_ci"] == pytest.approx([0.4, 0.4])


def test_an_accuracy_interval_stays_within_zero_and_one():
    accuracy = {"kind": "final", "metric": "test/acc"}
    assert clipped([0.97, 1.00012], accuracy) == [0.97, 1.0]
    assert clipped([-0.2, 0.3], {"kind": "final", "metric": "val/miou"}) == [0.0, 0.3]
    assert clipped([-0.2, 0.3], {"kind": "gap", "metric": "train/acc", "minus": "val/acc"}) == [
        -0.2,
        0.3,
    ]  # a difference of accuracies may be negative


def test_the_total_is_called_sequential_only_when_the_records_show_it():
    one = {"started": "2026-12-06T10:00:00+00:00", "ended": "2026-12-06T10:30:00+00:00"}
    two = {"started": "2026-12-06T10:31:00+00:00", "ended": "2026-12-06T11:00:00+00:00"}
    overlapping = {"started": "2026-12-06T10:20:00+00:00", "ended": "2026-12-06T10:40:00+00:00"}
    assert sequence([two, one]) == "run one after another"
    assert sequence([one, overlapping]) == "some ran at the same time"
    assert sequence([one, {"wall_s": 60}]).startswith("the records do not say")


def test_a_definition_check_says_what_was_measured_and_is_left_out_of_holm(monkeypatch):
    definition = load_claim("miou_definitions")
    assert definition.kind == "definition" and load_claim("bn").kind == "claim"
    comparison = {"verdict": "holds", "difference": -0.008, "p_value": 0.0048}
    text = shown_verdict(definition, comparison, None)
    assert text.startswith("definition check: the two numbers differ") and "holds" not in text
    records = {
        "miou_definitions": {"comparison": comparison},
        "bn": {"comparison": {"verdict": "holds", "p_value": 0.02}},
        "nin_head": {"comparison": {"verdict": "not resolved (within noise)", "p_value": 0.5}},
    }
    assert adjusted_p_values(records) == pytest.approx({"bn": 0.04, "nin_head": 0.5})


def test_ratios_are_shown_seed_by_seed():
    claim = load_claim("rcnn_vs_fast_rcnn")
    metric = "speed/images_per_s@14"
    arms = [
        {"name": "Fast", "values": [30.0, 20.0], "also": {metric: [12.0, 3.0]}},
        {"name": "R-CNN", "values": [2.0, 2.0], "also": {metric: [10.0, None]}},
    ]
    lines = ratio_lines(claim, arms)
    assert "- speed/images_per_s@14: 1.2, n/a" in lines
    assert "- speed/images_per_s@2000: 15, 10" in lines  # the measure itself


def test_a_record_keeps_the_measure_it_was_taken_with():
    claim = load_claim("nin_head")
    old = {"measure": {"kind": "gap", "metric": "train/acc", "minus": "val/acc"}}
    old["arms"] = [{"also": {"train/acc": [0.9], "val/acc": [0.95]}}]
    as_measured = report_module.as_measured(claim, old)
    assert as_measured.measure["metric"] == "train/acc" and as_measured.also == [
        "train/acc",
        "val/acc",
    ]
    assert (
        report_module.as_measured(claim, {"arms": []}).measure == claim.measure
    )  # no record of it


def test_a_record_of_an_earlier_design_is_not_reported_as_the_claims_verdict(tmp_path):
    """A claim file changed since its record (here, its measure): the report says the claim
    is not measured in its present design, shows no numbers of the old one, and leaves it
    out of Holm's correction."""
    claim = load_claim("bn")
    current = {"design": design(claim)}
    assert measured_as_designed(claim, current)
    changed = replace(claim, measure={**claim.measure, "threshold": 0.5})
    assert not measured_as_designed(changed, current)
    other_arms = replace(claim, arms=claim.arms[::-1])
    assert not measured_as_designed(other_arms, current)
    # a record from before `design` was kept: compared by its overrides, arms and measure
    old = {"overrides": claim.common, "arms": [vars(arm) for arm in claim.arms]}
    assert measured_as_designed(claim, old)
    assert not measured_as_designed(claim, {**old, "overrides": ["model=nin"]})
    section = unmeasured_section(claim, {"date": "2026-11-30", "commit": "abc"})
    assert "Not measured in this design yet" in section and "earlier design" in section


def test_the_design_names_the_data_folder_as_the_claim_file_does(monkeypatch, tmp_path):
    """Records from a machine whose MNIST copy lies elsewhere still match the claim file."""
    here = design(load_claim("bn"))
    monkeypatch.setenv(DATA_VARIABLE, str(tmp_path))
    elsewhere = design(load_claim("bn"))
    assert here == elsewhere and "data.data_dir=${data_dir}" in elsewhere["overrides"]


def test_the_plain_summary_groups_the_claims_by_their_verdict():
    comparison = {"verdict": "holds", "p_value": 0.001}
    records = {
        "bn": {"comparison": {"verdict": "holds, strong form: no BN never reached …"}},
        "nin_head": {"comparison": {"verdict": "not resolved (within noise)", "p_value": 0.8}},
        "vae_beta": {"comparison": comparison},
        "nin_1x1": {"comparison": comparison},
    }
    adjusted = {"vae_beta": 0.001, "nin_1x1": 0.2, "nin_head": 0.8}
    stale = {"gan_smoothing": {}}
    text = plain_summary(records, stale, adjusted)
    assert f"Hold in their strong form (the other arm never got there): {link('bn')}." in text
    assert f"Hold after Holm's correction: {link('vae_beta')}." in text
    assert f"Held before Holm's correction only: {link('nin_1x1')}." in text
    assert f"Not resolved within the seed-to-seed noise: {link('nin_head')}." in text
    assert f"Not measured in their present design yet: {link('gan_smoothing')}." in text
