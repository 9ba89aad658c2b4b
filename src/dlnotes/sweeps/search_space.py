"""An Optuna search space from Hydra's sweep syntax, checked before any trial runs.

`hydra.sweeper.params` (and sweep values on the command line, which replace them) map a config
key to `interval(a, b)` (a float; `int(interval(a, b))` for an int), `tag(log, interval(a,
b))` (sampled on a log scale), `choice(x, y, ...)` or `range(start, stop[, step])`. A plain
value on the command line (`trainer.max_epochs=5`) is fixed for every trial.
"""

import re

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from dlnotes.errors import ConfigError


class SearchSpaceError(ConfigError):
    """A search space no trial could be drawn from; the message names the key."""


def parse_overrides(arguments: list[str]) -> list[Override]:
    for argument in arguments:  # Hydra's grammar refuses it, with a less helpful message
        if re.search(r"=\s*choice\(\s*\)", argument):
            key = argument.split("=", 1)[0]
            raise SearchSpaceError(f"search space: {key} has no options to choose from")
    try:
        return OverridesParser.create().parse_overrides(arguments)
    except Exception as error:  # Hydra's grammar error: the first line names the bad text
        raise SearchSpaceError(f"search space: {str(error).strip().splitlines()[0]}") from None


def split_arguments(params: dict[str, str], arguments: list[str]) -> tuple[dict, list[str]]:
    """(key -> distribution, the fixed overrides): the config's params, replaced or extended
    by the command line's sweep values; the command line's plain values stay fixed."""
    parsed = parse_overrides([f"{key}={value}" for key, value in params.items()])
    space = {override.get_key_element(): override for override in parsed}
    fixed = []
    for override in parse_overrides(arguments):
        if override.is_sweep_override():
            space[override.get_key_element()] = override
        else:
            space.pop(override.get_key_element(), None)  # a fixed value replaces a range
            fixed.append(override.input_line)
    return {key: distribution(key, override) for key, override in space.items()}, fixed


def distribution(key: str, override: Override) -> BaseDistribution:
    value = override.value()
    if isinstance(value, IntervalSweep):
        return _interval(key, value)
    if isinstance(value, ChoiceSweep):
        return _choice(key, list(value.list))
    if isinstance(value, RangeSweep):
        return _choice(key, list(override.sweep_iterator()))
    raise SearchSpaceError(
        f"search space: {key}={override.input_line.split('=', 1)[-1]} is not a range to search"
        " (use interval(a, b), tag(log, interval(a, b)), choice(x, y) or range(a, b))"
    )


def _interval(key: str, sweep: IntervalSweep) -> BaseDistribution:
    low, high, log = sweep.start, sweep.end, "log" in sweep.tags
    if not low < high:
        raise SearchSpaceError(
            f"search space: {key}=interval({low}, {high}) is empty: the first bound must be the"
            " smaller"
        )
    if log and low <= 0:
        raise SearchSpaceError(
            f"search space: {key}=tag(log, interval({low}, {high})) needs bounds above 0 for a"
            " log scale"
        )
    if isinstance(low, int) and isinstance(high, int):
        return IntDistribution(low, high, log=log)
    return FloatDistribution(float(low), float(high), log=log)


def _choice(key: str, options: list) -> CategoricalDistribution:
    if not options:
        raise SearchSpaceError(f"search space: {key} has no options to choose from")
    unusable = [o for o in options if not isinstance(o, None | bool | int | float | str)]
    if unusable:
        raise SearchSpaceError(
            f"search space: {key}: choices must be numbers, strings, booleans or null,"
            f" not {unusable[0]!r}"
        )
    return CategoricalDistribution(options)
