"""How the claims' results are said: numbers, measures, verdicts (after Holm's correction, or
as a definition check) and links to a claim's section."""

import math

from dlnotes.claims.holm import adjusted_verdict
from dlnotes.claims.spec import load_claim


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


def holm_text(adjusted_p: float | None) -> str:
    return "" if adjusted_p is None else f", Holm-adjusted p = {number(adjusted_p, 3)}"


EARLIER_DESIGN = "not measured in its present design yet"


def link(name: str) -> str:
    """A claim's title, linked to its section."""
    title = load_claim(name).title
    return f"[{title}](#{anchor(title)})"


def anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces → hyphens."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")
