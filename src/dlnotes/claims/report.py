"""docs/notes.md's settled claims, written from the recorded runs (`docs/claims/<name>.json`):
nothing in that part of the notes is typed by hand."""

import json
import math
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dlnotes.claims.design import measured_as_designed  # noqa: E402
from dlnotes.claims.holm import adjusted_verdict, holm_adjusted  # noqa: E402
from dlnotes.claims.spec import claim_names, load_claim  # noqa: E402
from dlnotes.config.paths import repo_root

DOCS = repo_root() / "docs"
BOUNDED = ("acc", "iou", "map")  # metric names whose values lie in [0, 1]
BEGIN, END = "<!-- claims: begin (python -m dlnotes.claims report) -->", "<!-- claims: end -->"


def number(value, digits: int = 4) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}g}"
    )


def mean(values: list[float]) -> float | None:
    """Over the runs that have the value (a failed run has none)."""
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return sum(kept) / len(kept) if kept else None


def measure_name(measure: dict) -> str:
    if measure["kind"] == "epochs_to":
        return f"epochs to {measure['metric']} ≥ {measure['threshold']}"
    if measure["kind"] == "gap":
        return f"{measure['metric']} − {measure['minus']}"
    return measure["metric"]


def per_seed(arm: dict) -> str:
    """Each seed's value; a censored one (never reached the threshold) as "> N"."""
    censored = f"> {arm['censored_at']}" if "censored_at" in arm else "n/a"
    return ", ".join(censored if v is None else number(v, 3) for v in arm["values"])


def clipped(interval: list, measure: dict) -> list:
    """An interval of a bounded measure (an accuracy, IoU, mAP: [0, 1]) kept inside it."""
    if measure["kind"] != "final" or not any(k in measure["metric"] for k in BOUNDED):
        return interval
    return [None if v is None or math.isnan(v) else min(max(v, 0.0), 1.0) for v in interval]


def figure(claim, record: dict, path: Path) -> None:
    """Each seed's value per arm, with the arm's mean and 95% interval; censored values are
    drawn at the epochs the run had, as open circles."""
    fig, axis = plt.subplots(figsize=(4.2, 3.2))
    for x, arm in enumerate(record["arms"]):
        reached = [v for v in arm["values"] if v is not None]
        axis.scatter([x] * len(reached), reached, color="gray", s=14, zorder=2)
        censored = len(arm["values"]) - len(reached)
        if censored and "censored_at" in arm:
            top = [arm["censored_at"]] * censored
            axis.scatter([x] * censored, top, facecolors="none", edgecolors="C3", s=30, zorder=2)
        low, high = clipped(arm["ci"], claim.measure)
        if low is not None and not math.isnan(low):
            axis.errorbar(
                [x],
                [arm["mean"]],
                yerr=[[arm["mean"] - low], [high - arm["mean"]]],
                fmt="o",
                color="C0",
                capsize=6,
                zorder=3,
            )
    axis.set_xticks(range(len(record["arms"])), [arm["name"] for arm in record["arms"]])
    axis.set(title=claim.title, ylabel=measure_name(claim.measure))
    axis.title.set_fontsize(9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def section(claim, record: dict, figure_path: str, adjusted_p: float | None = None) -> str:
    comparison = record["comparison"]
    every_job = " ".join(record["overrides"])
    measured = f"{measure_name(claim.measure)}: mean [95% CI]"
    lines = [
        f"### {claim.title}",
        "",
        f"> {claim.notebook}",
        ">",
        f"> ({claim.translation})",
        "",
        f"**Holds when** {claim.holds_when}",
        "",
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
        f"### {claim.title}",
        "",
        f"> {claim.notebook}",
        ">",
        f"> ({claim.translation})",
        "",
        f"**Holds when** {claim.holds_when}",
        "",
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


def shown_verdict(claim, comparison: dict, adjusted_p: float | None) -> str:
    """The verdict as the report says it: after Holm for a claim; for a definition, what was
    measured (whether the two numbers differ), not whether a claim holds."""
    if claim.kind != "definition":
        return adjusted_verdict(comparison["verdict"], adjusted_p)
    if "difference" not in comparison:
        return f"definition check: {comparison['verdict']}"
    differ = "differ" if comparison["verdict"].startswith("holds") else "do not differ"
    return (
        f"definition check: the two numbers {differ} beyond the seed-to-seed noise"
        f" (by {number(comparison['difference'], 3)}, p = {number(comparison['p_value'], 3)})"
    )


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


def as_measured(claim, record: dict):
    """The claim as its record measured it (its measure and shown metrics), so that a claim
    file changed since never labels old values with a new measure."""
    also = list(record["arms"][0].get("also", {})) if record.get("arms") else []
    return replace(claim, measure=record.get("measure", claim.measure), also=also or claim.also)


def holm_text(adjusted_p: float | None) -> str:
    return "" if adjusted_p is None else f", Holm-adjusted p = {number(adjusted_p, 3)}"


EARLIER_DESIGN = "not measured in its present design yet"


def summary_table(records: dict[str, dict], stale: dict[str, dict], adjusted: dict) -> str:
    """One line per recorded claim (its verdict after Holm, where and how long; a record of
    an earlier design of the claim says so), and the total time of the current records, said
    to be one run after another only when the records show it."""
    lines = ["| claim | verdict | p (Holm) | measured | time |", "|---|---|---|---|---|"]
    for name in sorted({*records, *stale}):
        record, claim = records.get(name) or stale[name], load_claim(name)
        p = record["comparison"].get("p_value")
        shown = f"{number(p, 3)} ({number(adjusted[name], 3)})" if name in adjusted else "n/a"
        verdict = (
            shown_verdict(claim, record["comparison"], adjusted.get(name))
            if name in records
            else f"{EARLIER_DESIGN} (its record measured an earlier one)"
        )
        lines.append(
            f"| {link(name)} | {verdict} | {shown} |"
            f" {record['date']}, {record['commit']} | {record['wall_s'] / 60:.1f} min |"
        )
    if records:
        total = sum(record["wall_s"] for record in records.values()) / 60
        machines = sorted({record["machine"] for record in records.values()})
        lines += [
            "",
            f"{len(records)} claims measured as designed, {total:.0f} min in all, on "
            f"{'; '.join(machines)}: {sequence(list(records.values()))}.",
        ]
    return "\n".join(lines)


PLAIN_GROUPS = [  # (how a shown verdict starts, what the plain summary calls its claims)
    ("holds, strong form", "Hold in their strong form (the other arm never got there)"),
    ("holds", "Hold after Holm's correction"),
    ("not resolved after Holm", "Held before Holm's correction only"),
    ("not resolved", "Not resolved within the seed-to-seed noise"),
    ("does not hold", "Do not hold"),
    ("definition check", "Definition checks (a definition, not a claim)"),
    (EARLIER_DESIGN, "Not measured in their present design yet"),
]


def plain_summary(records: dict[str, dict], stale: dict[str, dict], adjusted: dict) -> str:
    """The verdicts in words, each claim under its group, linked to its section: what the
    table says, with no number the records do not hold."""
    shown = {
        name: shown_verdict(load_claim(name), record["comparison"], adjusted.get(name))
        for name, record in records.items()
    } | dict.fromkeys(stale, EARLIER_DESIGN)
    lines = ["**Plainly.**"]
    for start, heading in PLAIN_GROUPS:
        names = [n for n in sorted(shown) if shown[n].startswith(start)]
        for name in names:
            del shown[name]
        if names:
            lines.append(f"{heading}: {'; '.join(link(n) for n in names)}.")
    return " ".join(lines)


def sequence(records: list[dict]) -> str:
    """Whether the records show the claims ran one after another (no two overlapping)."""
    if not all("started" in r and "ended" in r for r in records):
        return "the records do not say whether they ran one after another"
    spans = sorted((r["started"], r["ended"]) for r in records)
    pairs = zip(spans, spans[1:], strict=False)
    overlapping = any(later[0] < earlier[1] for earlier, later in pairs)
    return "some ran at the same time" if overlapping else "run one after another"


def adjusted_p_values(records: dict[str, dict]) -> dict[str, float]:
    """Holm over every recorded claim whose verdict rests on a p-value (a definition check
    settles no claim: it is not counted among them)."""
    raw = {
        name: record["comparison"]["p_value"]
        for name, record in records.items()
        if "p_value" in record["comparison"] and load_claim(name).kind != "definition"
    }
    return holm_adjusted(raw)


def link(name: str) -> str:
    """A claim's title, linked to its section."""
    title = load_claim(name).title
    return f"[{title}](#{anchor(title)})"


def anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces → hyphens."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def report(records_dir: Path = DOCS / "claims", notes: Path = DOCS / "notes.md") -> str:
    """Rewrite the claims part of `notes` from the records; returns it."""
    parts = [
        BEGIN,
        "",
        "## The claims, settled over seeds",
        "",
        "Written by `python -m dlnotes.claims report` from `docs/claims/<name>.json`; each "
        "claim's file is `conf/claims/<name>.yaml`. An arm's interval is Student's t over "
        "its seeds (an accuracy's kept within [0, 1]); the verdict is Welch's t-test of the "
        "first arm against the second at p < 0.05 (for a claim about two metrics of the same "
        "runs, a one-sample t-test of their per-seed difference against 0; for epochs to a "
        "threshold that some runs never reached, Mann–Whitney U on ranks, those runs ranked "
        "last), after Holm's correction over all the claims below.",
        "",
    ]
    recorded = {
        name: json.loads((records_dir / f"{name}.json").read_text())
        for name in claim_names()
        if (records_dir / f"{name}.json").is_file()
    }
    records = {n: r for n, r in recorded.items() if measured_as_designed(load_claim(n), r)}
    stale = {n: r for n, r in recorded.items() if n not in records}
    adjusted = adjusted_p_values(records)
    parts += [summary_table(records, stale, adjusted), "", plain_summary(records, stale, adjusted)]
    parts.append("")
    for name in claim_names():
        claim = load_claim(name)
        if name not in records:
            parts.append(unmeasured_section(claim, stale.get(name)))
            continue
        record = records[name]
        claim = as_measured(claim, record)
        figure(claim, record, notes.parent / "figures" / f"claim_{name}.png")
        parts.append(section(claim, record, f"figures/claim_{name}.png", adjusted.get(name)))
    parts.append(END)
    generated = "\n".join(parts) + "\n"
    text = notes.read_text() if notes.is_file() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + generated.rstrip("\n") + rest.split(END, 1)[1]
    else:
        first_section = text.find("\n## ")
        cut = first_section + 1 if first_section >= 0 else len(text)
        text = text[:cut] + generated + "\n" + text[cut:]
    notes.write_text(text)
    return generated
