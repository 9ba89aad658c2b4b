"""pyproject.toml's bounds match what the code needs, and constraints.txt pins what they admit.

REQUIRED names, for each dependency whose floor is not obvious, the version the code needs and
where: raising a requirement in the code without raising the floor fails here.
"""

import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from helpers.paths import ROOT

REQUIRED = {
    "lightning": ("2.6", "Trainer.fit/test(weights_only=True) in src/dlnotes/run/fit.py"),
    "optuna": ("4.0", "optuna.storages.journal (JournalFileBackend) in config/optuna_storage.py"),
    "torch": ("2.5", "torch.onnx.export(dynamo=True) in src/dlnotes/export.py"),
    "torchvision": ("0.20", "the torchvision paired with torch 2.5"),
    "hydra-core": ("1.3", "@hydra.main(version_base='1.3') in train.py"),
    "wandb": ("0.29", "`wandb leet inspect --json` in tests/helpers/wandb_records.py (dev)"),
}
CAPPED = {"lightning": "run/ddp_job.py imports the private _SubprocessScriptLauncher"}


def requirements() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = project["dependencies"] + [
        r for e in project["optional-dependencies"].values() for r in e
    ]
    found: dict[str, list[Requirement]] = {}
    for text in texts:
        requirement = Requirement(text)
        found.setdefault(requirement.name, []).append(requirement)
    return found


def floor(requirement: Requirement) -> Version | None:
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
    return max(floors) if floors else None


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_floor_is_at_least_what_the_code_needs(name):
    needed, where = REQUIRED[name]
    declared = requirements()[name]
    highest = max(floor(r) or Version("0") for r in declared)
    assert highest >= Version(needed), f"{name}: floor {highest} < {needed}, needed by {where}"


def test_every_dependency_has_a_floor():
    for name, declared in requirements().items():
        assert any(floor(r) for r in declared), f"{name} has no lower bound in pyproject.toml"


@pytest.mark.parametrize("name", sorted(CAPPED))
def test_private_api_users_are_capped_below_the_next_minor(name):
    (requirement,) = requirements()[name]
    caps = [Version(s.version) for s in requirement.specifier if s.operator == "<"]
    low = floor(requirement)
    assert caps, f"{name} is uncapped, while {CAPPED[name]}"
    assert caps[0] <= Version(f"{low.major}.{low.minor + 1}"), f"{name}: cap {caps[0]} too loose"


def test_constraints_pin_versions_the_bounds_admit():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = Version(version)
    for name, declared in requirements().items():
        key = name.lower().replace("_", "-")
        assert key in pins, f"{name} is not pinned in constraints.txt"
        for requirement in declared:
            assert requirement.specifier.contains(pins[key]), f"{name}=={pins[key]}: {requirement}"
