"""Check the values users most often mistype before anything is built or written."""

from omegaconf import DictConfig, OmegaConf

from dlnotes.errors import ConfigError


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# key: (test, what the value must be)
CHECKS = {
    "seed": (lambda v: _is_int(v) and v >= 0, "an integer ≥ 0"),
    "trainer.max_epochs": (lambda v: _is_int(v) and v >= -1, "an integer ≥ 1 (or -1: no limit)"),
    "trainer.min_epochs": (lambda v: v is None or (_is_int(v) and v >= 0), "an integer ≥ 0"),
    "trainer.num_nodes": (lambda v: _is_int(v) and v >= 1, "an integer ≥ 1"),
    "data.batch_size": (lambda v: _is_int(v) and v >= 1, "an integer ≥ 1"),
    "data.image_size": (lambda v: _is_int(v) and v >= 1, "an integer ≥ 1"),
    "data.num_workers": (lambda v: _is_int(v) and v >= 0, "an integer ≥ 0"),
    "data.val_fraction": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "data.test_fraction": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "model.optimizer.lr": (lambda v: _is_number(v) and v > 0, "a number > 0"),
}


def notes_bn_keys(node, path: str) -> list[str]:
    """The `norm` keys under `node` (a plain container, any depth) set to notes_bn."""
    if not isinstance(node, dict):
        return []
    found = [f"{path}.norm"] if node.get("norm") == "notes_bn" else []
    for key, value in node.items():
        found += notes_bn_keys(value, f"{path}.{key}")
    return found


def check_sync_batchnorm(cfg: DictConfig) -> None:
    """`trainer.sync_batchnorm` converts torch's BatchNorm layers only: the notes' own BN (a
    plain module) would keep per-GPU statistics without a word, so it is refused."""
    if not OmegaConf.select(cfg, "trainer.sync_batchnorm", default=False):
        return
    model = OmegaConf.to_container(cfg.model, resolve=False) if "model" in cfg else None
    found = notes_bn_keys(model, "model")
    if found:
        raise ConfigError(
            f"trainer.sync_batchnorm=true cannot synchronize {found[0]}=notes_bn (the notes' BN "
            "is a plain module, its statistics would stay per GPU): use "
            f"{found[0]}=batchnorm, or trainer.sync_batchnorm=false to keep them per GPU"
        )


def validate_config(cfg: DictConfig) -> None:
    """Raise a one-line ConfigError naming the first key whose value is wrong."""
    for key, (is_valid, expected) in CHECKS.items():
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
        if value is None and key != "trainer.max_epochs":
            continue
        if value is None or not is_valid(value):
            raise ConfigError(f"{key}={value!r} is not valid: it must be {expected}")
    check_sync_batchnorm(cfg)
