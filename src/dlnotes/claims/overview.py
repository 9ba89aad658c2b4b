"""The head of the report: one line per claim with its verdict after Holm's correction, the
total time (one after another only when the records show it), and the plain summary."""

from dlnotes.claims.holm import holm_adjusted
from dlnotes.claims.spec import load_claim
from dlnotes.claims.words import EARLIER_DESIGN, link, number, shown_verdict


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
