"""A claim file (`conf/claims/<name>.yaml`), read and checked."""

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from omegaconf import OmegaConf

from dlnotes.config.paths import conf_dir, repo_root
from dlnotes.errors import ConfigError

CLAIMS_DIR = conf_dir() / "claims"
# `${data_dir}` in a claim file: where its real data are (torchvision's layout), an absolute
# path, so that jobs started from a worktree find it; tests point it at a tiny copy
DATA_VARIABLE = "DLNOTES_CLAIMS_DATA"
MEASURES = ("final", "epochs_to", "gap")
BETTER = ("lower", "higher", "nonzero")  # nonzero: one arm, two of its metrics differ


@dataclass(frozen=True)
class Arm:
    name: str
    overrides: list[str]


@dataclass(frozen=True)
class Claim:
    name: str
    title: str
    notebook: str  # the notebook's words, quoted
    translation: str
    measure: dict  # {kind: final|epochs_to|gap, metric, threshold?, minus?}
    better: str  # lower | higher: which way the measure is better; nonzero: it differs from 0
    # the first arm is the one the notes say is better, the verdict compares it with the
    # second; any further arm is measured and shown beside them (e.g. a third β)
    arms: list[Arm]
    seeds: list[int]
    common: list[str]
    scales: dict[str, dict]  # name → {overrides: [...], and any field to replace: seeds, lr_grid}
    holds_when: str
    lr_grid: list[float] = field(default_factory=list)  # each arm at its own best rate
    tune_seed: int = 0
    # what picks the best rate, if not the measure: {kind, metric, better}, e.g. val/acc
    tune_on: dict | None = None
    also: list[str] = field(default_factory=list)  # result metrics shown beside the measure
    # runs every job needs first, e.g. the classifier whose features FID compares:
    # [{name, overrides: [train.py overrides], pass_as: override key, file: in its run dir}]
    prepare: list[dict] = field(default_factory=list)
    # a partial (Hydra _target_, _partial_: true) called with each trained job's run directory,
    # returning more metrics for it, e.g. test-time speed at several proposal counts
    after_training: dict | None = None
    # claim: a sentence the arms can settle; definition: a check that what a number means is
    # said (its verdict names the measured difference, and it is left out of Holm's correction)
    kind: str = "claim"
    # metrics shown as the first arm over the second, seed by seed (e.g. speed at each count)
    ratios: list[str] = field(default_factory=list)

    def at_scale(self, scale: str) -> "Claim":
        """The claim as run at `scale`: "full" as written, else with the scale's overrides
        appended and its fields (seeds, lr_grid) replacing the claim's."""
        if scale == "full":
            return self
        changes = dict(self.scales[scale])
        common = [*self.common, *changes.pop("overrides", [])]
        return replace(self, common=common, **changes)


def claims_data_dir() -> str:
    """`${data_dir}` of the claim files: $DLNOTES_CLAIMS_DATA, else ../shared/data beside the
    checkout (the MNIST copy kept there), as an absolute path."""
    data_dir = os.environ.get(DATA_VARIABLE) or repo_root().parent / "shared" / "data"
    return str(Path(data_dir).resolve())


def claim_names() -> list[str]:
    return sorted(path.stem for path in CLAIMS_DIR.glob("*.yaml"))


def load_claim(name: str) -> Claim:
    path = CLAIMS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no claim {name!r}: choose one of {', '.join(claim_names())}")
    text = OmegaConf.merge({"data_dir": claims_data_dir()}, OmegaConf.load(path))
    raw = OmegaConf.to_container(text, resolve=True)
    raw.pop("data_dir")
    for arm in raw["arms"]:  # e.g. an unquoted "a, b" in a YAML flow mapping splits the name
        if set(arm) != {"name", "overrides"}:
            raise ConfigError(f"{path}: an arm has name and overrides, got {sorted(arm)}")
    raw["arms"] = [Arm(arm["name"], list(arm["overrides"])) for arm in raw["arms"]]
    claim = Claim(name=name, **raw)
    if claim.measure["kind"] not in MEASURES or claim.better not in BETTER:
        raise ConfigError(f"{path}: measure.kind must be one of {MEASURES}, better one of {BETTER}")
    for step in claim.prepare:
        if set(step) != {"name", "overrides", "pass_as", "file"}:
            raise ConfigError(f"{path}: a prepare step has name, overrides, pass_as and file")
    paired = len(claim.arms) == 1 and claim.measure["kind"] == "gap"
    if len(claim.arms) < 2 and not paired:
        raise ConfigError(
            f"{path}: a claim compares two arms (or, with one arm, two of its metrics: "
            f"measure.kind gap), it has {len(claim.arms)}"
        )
    return claim
