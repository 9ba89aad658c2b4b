"""Holm–Bonferroni over the claims of the report: testing a dozen claims at p < 0.05 each would
find about half a "difference" by chance; Holm's step-down keeps the chance of any false one at
0.05, and is never weaker than Bonferroni.

The raw p-values sorted ascending, p(1) ≤ … ≤ p(m): p(i) is adjusted to
max over j ≤ i of min(1, (m − j + 1) · p(j)), so the adjusted values keep the raw order.
"""


def holm_adjusted(p_values: dict[str, float]) -> dict[str, float]:
    """Each name's Holm-adjusted p-value."""
    ordered = sorted(p_values, key=lambda name: p_values[name])
    m, running, adjusted = len(ordered), 0.0, {}
    for index, name in enumerate(ordered):
        running = max(running, min(1.0, (m - index) * p_values[name]))
        adjusted[name] = running
    return adjusted


def adjusted_verdict(verdict: str, adjusted_p: float | None, alpha: float = 0.05) -> str:
    """A verdict that rests on a test, after the adjustment: "holds" or "does not hold" at a
    raw p < alpha becomes "not resolved" when the adjusted p is not below alpha. Verdicts that
    rest on no test (the strong form, not resolved already) stay."""
    if adjusted_p is None or verdict not in ("holds", "does not hold") or adjusted_p < alpha:
        return verdict
    return f"not resolved after Holm's correction (raw: {verdict})"
