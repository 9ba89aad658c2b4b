"""Write constraints.txt: the exact version of every package dlnotes[dev,export] installs, as
installed here. Run it after the suite passes on a fresh install:

    python scripts/freeze_constraints.py > constraints.txt

The README's test command (and so .ci/run) installs with `-c constraints.txt`: the versions
the suite passed on, not whatever is newest that day.
"""

import re
from importlib import metadata

from packaging.requirements import Requirement

ROOT_EXTRAS = {"dev", "export"}


def installed_requirements(name: str, extras: set[str]) -> list[Requirement]:
    """The requirements of installed package `name` that apply here, with `extras`."""
    found = []
    for text in metadata.requires(name) or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in extras | {""}):
            found.append(requirement)
    return found


def closure(name: str, extras: set[str]) -> dict[str, str]:
    """{distribution name: installed version} of everything `name[extras]` pulls in."""
    versions, todo = {}, [(name, extras)]
    while todo:
        current, current_extras = todo.pop()
        for requirement in installed_requirements(current, current_extras):
            key = canonical(requirement.name)
            try:
                version = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                continue  # a requirement for another platform or Python
            if key not in versions:
                versions[key] = version
                todo.append((requirement.name, set(requirement.extras)))
    return versions


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    versions = closure("dlnotes", ROOT_EXTRAS)
    versions.pop("dlnotes", None)
    print(
        "# The versions the suite passed on: python scripts/freeze_constraints.py > constraints.txt"
    )
    for name, version in sorted(versions.items()):
        print(f"{name}=={version.split('+')[0]}")  # a local label (+cpu) stays the installer's


if __name__ == "__main__":
    main()
