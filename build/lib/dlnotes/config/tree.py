"""Show the resolved config as a tree at start, and keep it in the run directory (secrets
redacted: see `redact`)."""

from pathlib import Path

import rich
import rich.syntax
import rich.tree
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from dlnotes.config.redact import redact

FIRST = ("data", "model", "callbacks", "logger", "trainer", "paths")


@rank_zero_only
def print_config_tree(cfg: DictConfig, save_dir: str | None = None) -> None:
    """Print each top-level section as a branch (groups first); save it as config_tree.log."""
    resolved = redact(OmegaConf.to_container(cfg, resolve=True))
    tree = rich.tree.Tree("CONFIG", style="dim", guide_style="dim")
    keys = [k for k in FIRST if k in resolved] + [k for k in resolved if k not in FIRST]
    for key in keys:
        section = resolved[key]
        text = OmegaConf.to_yaml(section) if isinstance(section, dict) else str(section)
        tree.add(key, style="bold").add(rich.syntax.Syntax(text, "yaml"))
    rich.print(tree)
    if save_dir:
        path = Path(save_dir) / "config_tree.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as file:
            rich.print(tree, file=file)
        OmegaConf.save(OmegaConf.create(resolved), Path(save_dir) / "config_resolved.yaml")
