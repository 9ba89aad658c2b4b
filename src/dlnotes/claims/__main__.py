"""python -m dlnotes.claims run NAME|NAME,NAME…|all [scale=full|smoke] [out=DIR] | report | list

A run holds logs/claims/claims.lock (one at a time), and runs its claims one after another; at
full scale each claim's jobs start from a clean worktree of HEAD (logs/claims/worktree), the
commit its record names."""

import datetime
import logging
import sys
from pathlib import Path

from dlnotes.claims import run as claim_runs
from dlnotes.claims.lock import claims_lock
from dlnotes.claims.report import DOCS, report
from dlnotes.claims.run import ROOT, run_claim, write_record
from dlnotes.claims.spec import claim_names, load_claim
from dlnotes.claims.worktree import clean_worktree
from dlnotes.errors import ConfigError, one_line

LOCK = ROOT / "logs" / "claims" / "claims.lock"
WORKTREE = ROOT / "logs" / "claims" / "worktree"

USAGE = __doc__.strip()


def options(args: list[str]) -> dict[str, str]:
    for arg in args:
        if "=" not in arg:
            raise ConfigError(f"{arg!r}: options are key=value ({USAGE})")
    return dict(arg.split("=", 1) for arg in args)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("run", "report", "list"):
        raise ConfigError(f"usage: {USAGE}")
    command, rest = argv[0], argv[1:]
    if command == "list":
        print("\n".join(f"{name}: {load_claim(name).title}" for name in claim_names()))
    elif command == "report":
        report()
        print(f"wrote {DOCS / 'notes.md'}")
    else:
        if not rest:
            raise ConfigError(f"which claim? one of {', '.join(claim_names())}, or all")
        run_claims(chosen_claims(rest[0]), options(rest[1:]))


def chosen_claims(text: str) -> list:
    """`all`, one claim's name, or several joined by commas (checked before any runs)."""
    names = claim_names() if text == "all" else text.split(",")
    return [load_claim(name) for name in names]


def run_claims(claims: list, settings: dict[str, str]) -> None:
    """One claim after another, under one lock; a claim that fails is said in one line and
    the others still run (the exit status is 1 if any failed)."""
    scale = settings.get("scale", "full")
    for claim in claims:
        if scale not in ("full", *claim.scales):
            raise ConfigError(f"scale={scale}: choose full or one of {', '.join(claim.scales)}")
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    failed = []
    with claims_lock(LOCK, ",".join(claim.name for claim in claims)):
        for claim in claims:
            out = ROOT / "logs" / "claims" / claim.name / f"{scale}-{stamp}"
            if "out" in settings:
                out = Path(settings["out"]) / (claim.name if len(claims) > 1 else "")
            try:
                record = run_at_scale(claim, scale, out)
            except Exception as error:  # noqa: BLE001 - the next claim still runs
                print(f"{claim.name}: failed: {one_line(error)}", file=sys.stderr)
                failed.append(claim.name)
                continue
            write_record(record, out / f"{claim.name}.json")
            if scale == "full":  # what the report reads
                write_record(record, DOCS / "claims" / f"{claim.name}.json")
            print(
                f"{claim.name}: {record['comparison']['verdict']} ({record['wall_s']:.0f} s); "
                f"record: {out / f'{claim.name}.json'}",
                flush=True,
            )
    if failed:
        raise ConfigError(f"{len(failed)} of {len(claims)} claims failed: {', '.join(failed)}")


def run_at_scale(claim, scale: str, out: Path) -> dict:
    """At full scale (what the report reads) from a clean worktree of HEAD; a smoke run uses
    the working tree as it is."""
    if scale != "full":
        return run_claim(claim, scale, out)
    with clean_worktree(ROOT, WORKTREE) as (folder, _):
        claim_runs.jobs_root = folder
        try:
            return run_claim(claim, scale, out)
        finally:
            claim_runs.jobs_root = ROOT


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        main(sys.argv[1:])
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
