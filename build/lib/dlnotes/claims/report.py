"""docs/notes.md's settled claims, written from the recorded runs (`docs/claims/<name>.json`):
nothing in that part of the notes is typed by hand."""

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dlnotes.claims.spec import claim_names, load_claim  # noqa: E402
from dlnotes.config.paths import repo_root

DOCS = repo_root() / "docs"
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


def figure(claim, record: dict, path: Path) -> None:
    """Each seed's value per arm, with the arm's mean and 95% interval."""
    fig, axis = plt.subplots(figsize=(4.2, 3.2))
    for x, arm in enumerate(record["arms"]):
        axis.scatter([x] * len(arm["values"]), arm["values"], color="gray", s=14, zorder=2)
        low, high = arm["ci"]
        if not math.isnan(low):
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


def section(claim, record: dict, figure_path: str) -> str:
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
        low, high = arm["ci"]
        per_seed = ", ".join(number(v, 3) for v in arm["values"])
        also = "".join(f" {number(mean(arm['also'].get(m, [])))} |" for m in claim.also)
        lr = number(arm["lr"]) if arm["lr"] is not None else "config"
        if arm.get("tuning"):
            lr += " (of " + ", ".join(number(float(k)) for k in arm["tuning"]) + ")"
            lr += f" by {claim.tune_on['metric']}" if claim.tune_on else ""
        params = f"{arm['parameters']:,}" if arm.get("parameters") else "n/a"
        lines.append(
            f"| {arm['name']} | `{' '.join(arm['overrides'])}` | {params} | {lr} | {arm['n']} | "
            f"{number(arm['mean'])} [{number(low)}, {number(high)}] | {per_seed} |{also}"
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
            f"{test_name} p = {number(comparison['p_value'], 3)}.",
        ]
    if len(record["arms"]) > 2:
        shown = ", ".join(arm["name"] for arm in record["arms"][2:])
        lines += ["", f"The verdict compares the first two arms; {shown}: measured, shown."]
    lines += [
        "",
        f"**Verdict: {comparison['verdict']}.** Measured {record['date']} at commit "
        f"{record['commit']} on {record['machine']}; the whole claim took "
        f"{record['wall_s'] / 60:.1f} min.",
        "",
        f"![{claim.title}]({figure_path})",
        "",
    ]
    return "\n".join(lines)


def summary_table(records: dict[str, dict]) -> str:
    """One line per recorded claim (its verdict, where and how long), and the total time."""
    lines = ["| claim | verdict | measured | time |", "|---|---|---|---|"]
    for name, record in records.items():
        title = load_claim(name).title
        lines.append(
            f"| [{title}](#{anchor(title)}) | "
            f"{record['comparison']['verdict']} | {record['date']}, {record['commit']} | "
            f"{record['wall_s'] / 60:.1f} min |"
        )
    total = sum(record["wall_s"] for record in records.values()) / 60
    machines = sorted({record["machine"] for record in records.values()})
    lines += [
        "",
        f"All {len(records)} claims, run one after another: {total:.0f} min on "
        f"{'; '.join(machines)}.",
    ]
    return "\n".join(lines)


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
        "its seeds; the verdict is Welch's t-test of the first arm against the second at "
        "p < 0.05 (for a claim about two metrics of the same runs, a one-sample t-test of "
        "their per-seed difference against 0).",
        "",
    ]
    records = {
        name: json.loads((records_dir / f"{name}.json").read_text())
        for name in claim_names()
        if (records_dir / f"{name}.json").is_file()
    }
    parts += [summary_table(records), ""]
    for name in claim_names():
        claim = load_claim(name)
        if name not in records:
            parts += [
                f"### {claim.title}",
                "",
                f"Not run yet: `python -m dlnotes.claims run {name}`.",
                "",
            ]
            continue
        record = records[name]
        figure(claim, record, notes.parent / "figures" / f"claim_{name}.png")
        parts.append(section(claim, record, f"figures/claim_{name}.png"))
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
