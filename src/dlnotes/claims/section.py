"""One claim's section of the report: the notebook's words, the arms' table, the comparison,
the verdict and where it was measured; or, for a claim not measured in its present design,
what it asks and the command."""

import math

from dlnotes.claims.words import holm_text, mean, measure_name, number, shown_verdict

BOUNDED = ("acc", "iou", "map")  # metric names whose values lie in [0, 1]


def per_seed(arm: dict) -> str:
    """Each seed's value; a censored one (never reached the threshold) as "> N"."""
    censored = f"> {arm['censored_at']}" if "censored_at" in arm else "n/a"
    return ", ".join(censored if v is None else number(v, 3) for v in arm["values"])


def clipped(interval: list, measure: dict) -> list:
    """An interval of a bounded measure (an accuracy, IoU, mAP: [0, 1]) kept inside it."""
    if measure["kind"] != "final" or not any(k in measure["metric"] for k in BOUNDED):
        return interval
    return [None if v is None or math.isnan(v) else min(max(v, 0.0), 1.0) for v in interval]


def claim_heading(claim) -> list[str]:
    """A claim's title, the notebook's words and their translation, and when it holds."""
    return [
        f"### {claim.title}",
        "",
        f"> {claim.notebook}",
        ">",
        f"> ({claim.translation})",
        "",
        f"**Holds when** {claim.holds_when}",
        "",
    ]


def section(claim, record: dict, figure_path: str, adjusted_p: float | None = None) -> str:
    comparison = record["comparison"]
    every_job = " ".join(record["overrides"])
    measured = f"{measure_name(claim.measure)}: mean [95% CI]"
    lines = [
        *claim_heading(claim),
        f"`python -m dlnotes.claims run {claim.name}` — every job: `{every_job}`",
        "",
        *(
            f"First, once: `python train.py {' '.join(step['overrides'])}` ({step['name']})\n"
            for step in record.get("prepare", [])
        ),
        f"| arm | overrides | parameters | learning rate | n | {measured} | per seed |"
        + "".join(f" {m} (mean) |" for m in claim.also),
        "|---|---|---|---|---|---|---|" + "---|" * len(claim.also),
    ]
    for arm in record["arms"]:
        also = "".join(f" {number(mean(arm['also'].get(m, [])))} |" for m in claim.also)
        params = f"{arm['parameters']:,}" if arm.get("parameters") else "n/a"
        lines.append(
            f"| {arm['name']} | `{' '.join(arm['overrides'])}` | {params} | {rate(claim, arm)} |"
            f" {arm['n']} | {arm_value(arm, claim.measure)} | {per_seed(arm)} |{also}"
        )
    if "difference" in comparison:
        low, high = comparison["difference_ci"]
        arms, test_name = record["arms"], comparison.get("test", "Welch's t-test")
        compared = (
            f"{arms[0]['name']} − {arms[1]['name']}"
            if len(arms) > 1
            else f"{measure_name(claim.measure)}, against 0"
        )
        lines += [
            "",
            f"{compared}: {number(comparison['difference'])} [{number(low)}, {number(high)}], "
            f"{test_name} p = {number(comparison['p_value'], 3)}{holm_text(adjusted_p)}.",
        ]
    elif "p_value" in comparison:  # ranks: some runs never reached the threshold
        reached = comparison.get("reached", ["?", "?"])
        lines += [
            "",
            f"Runs that reached the threshold: {reached[0]} and {reached[1]};"
            f" {comparison['test']}: p = {number(comparison['p_value'], 3)}"
            f"{holm_text(adjusted_p)}.",
        ]
    lines += ratio_lines(claim, record["arms"])
    if len(record["arms"]) > 2:
        shown = ", ".join(arm["name"] for arm in record["arms"][2:])
        lines += ["", f"The verdict compares the first two arms; {shown}: measured, shown."]
    lines += [
        "",
        f"**Verdict: {shown_verdict(claim, comparison, adjusted_p)}.** Measured"
        f" {record['date']} at commit "
        f"{record['commit']} on {record['machine']}{machine_state(record)}; the whole claim"
        f" took {record['wall_s'] / 60:.1f} min.",
        "",
        f"![{claim.title}]({figure_path})",
        "",
    ]
    return "\n".join(lines)


def unmeasured_section(claim, earlier: dict | None) -> str:
    """A claim with no record of its present design: what it asks, and the command."""
    lines = [
        *claim_heading(claim),
        f"Not measured in this design yet: `python -m dlnotes.claims run {claim.name}`.",
    ]
    if earlier is not None:
        lines[-1] += (
            f" Its record ({earlier['date']}, commit {earlier['commit']}) measured an earlier"
            " design of the claim, so its numbers are not shown here."
        )
    return "\n".join([*lines, ""])


def rate(claim, arm: dict) -> str:
    """The arm's learning rate, the grid it was chosen from, and a tie when there was one."""
    text = number(arm["lr"]) if arm["lr"] is not None else "config"
    if arm.get("tuning"):
        text += " (of " + ", ".join(number(float(k)) for k in arm["tuning"]) + ")"
        text += f" by {claim.tune_on['metric']}" if claim.tune_on else ""
    tied = arm.get("tied_rates") or []
    if len(tied) > 1:
        text += f"; a tie of {', '.join(number(float(r)) for r in tied)}: the smallest taken"
    return text


def arm_value(arm: dict, measure: dict) -> str:
    """Mean [95% CI]; with censored runs, how many reached the threshold instead."""
    if arm.get("reached") is not None:
        return f"reached by {arm['reached']} of {arm['n']} (no mean: > {arm['censored_at']})"
    low, high = clipped(arm["ci"], measure)
    return f"{number(arm['mean'])} [{number(low)}, {number(high)}]"


def seed_values(arm: dict, metric: str, claim) -> list:
    return arm["values"] if metric == claim.measure.get("metric") else arm["also"].get(metric, [])


def ratio_lines(claim, arms: list[dict]) -> list[str]:
    """The first arm over the second, seed by seed, for each of the claim's `ratios`."""
    if len(arms) < 2 or not claim.ratios:
        return []
    lines = ["", f"{arms[0]['name']} / {arms[1]['name']}, seed by seed:"]
    for metric in claim.ratios:
        first, second = seed_values(arms[0], metric, claim), seed_values(arms[1], metric, claim)
        ratios = [_ratio(a, b) for a, b in zip(first, second, strict=False)]
        shown = ", ".join(number(r, 3) for r in ratios)
        lines.append(f"- {metric}: {shown}")
    return lines


def _ratio(a, b) -> float | None:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def machine_state(record: dict) -> str:
    """The CPU and the load average at the start and end, where the record has them."""
    if "load_average_start" not in record:
        return ""
    return (
        f" ({record['cpu']}; load average {record['load_average_start']:.2f} at the start,"
        f" {record['load_average_end']:.2f} at the end)"
    )
