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
from dlnotes.claims.overview import adjusted_p_values, plain_summary, summary_table  # noqa: E402
from dlnotes.claims.section import clipped, section, unmeasured_section  # noqa: E402
from dlnotes.claims.spec import claim_names, load_claim  # noqa: E402
from dlnotes.claims.words import measure_name  # noqa: E402
from dlnotes.config.paths import repo_root  # noqa: E402

DOCS = repo_root() / "docs"
BEGIN, END = "<!-- claims: begin (python -m dlnotes.claims report) -->", "<!-- claims: end -->"


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


def as_measured(claim, record: dict):
    """The claim as its record measured it (its measure and shown metrics), so that a claim
    file changed since never labels old values with a new measure."""
    also = list(record["arms"][0].get("also", {})) if record.get("arms") else []
    return replace(claim, measure=record.get("measure", claim.measure), also=also or claim.also)


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
