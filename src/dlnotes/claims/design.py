"""Whether a record measured its claim as the claim's file now reads it.

A claim file changed since its record (another measure, other data, other arms) makes the
record's numbers answer a question the report no longer asks: the report then says the claim
is not measured in its present design, instead of printing old numbers under new words.
"""

from dlnotes.claims.spec import Claim, claims_data_dir

DATA_DIR = "${data_dir}"  # how a claim file names its data folder, whatever the machine's is


def prepared_as_shown(claim: Claim) -> list[str]:
    """A prepare step's output, as a record shows it (its run directory differs per run)."""
    return [f"{s['pass_as']}=<{s['name']} run>/{s['file']}" for s in claim.prepare]


def design(claim: Claim) -> dict:
    """What decides what a claim measures: its jobs' overrides, arms, measure, grid, seeds and
    extra measurements (the data folder written as the file writes it, so machines compare)."""
    data_dir = claims_data_dir()

    def portable(overrides: list[str]) -> list[str]:
        return [o.replace(data_dir, DATA_DIR) for o in overrides]

    return {
        "overrides": portable([*claim.common, *prepared_as_shown(claim)]),
        "prepare": [portable(step["overrides"]) for step in claim.prepare],
        "arms": [[arm.name, *arm.overrides] for arm in claim.arms],
        "measure": claim.measure,
        "better": claim.better,
        "lr_grid": claim.lr_grid,
        "tune_on": claim.tune_on,
        "seeds": claim.seeds,
        "after_training": claim.after_training,
    }


def measured_as_designed(claim: Claim, record: dict) -> bool:
    """The record measured the claim as its file now reads. Records from before `design` was
    kept are compared by what they have: their jobs' overrides, arms and measure."""
    if "design" in record:
        return record["design"] == design(claim)
    arms = [[arm["name"], *arm["overrides"]] for arm in record["arms"]]
    return (
        record["overrides"] == [*claim.common, *prepared_as_shown(claim)]
        and arms == [[arm.name, *arm.overrides] for arm in claim.arms]
        and record.get("measure", claim.measure) == claim.measure
    )
