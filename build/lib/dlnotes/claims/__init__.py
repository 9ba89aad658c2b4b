"""The notes' claims as data: each `conf/claims/<name>.yaml` quotes the notebook, names the
arms to compare, the measure and what would count as the claim holding.

    python -m dlnotes.claims run bn [scale=smoke]     run a claim's sweeps, record its result
    python -m dlnotes.claims report                   docs/notes.md's claim tables from the records
"""
