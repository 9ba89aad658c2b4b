"""The `benchmarks/` scripts, loaded as modules."""

import importlib.util
import sys

from helpers.paths import ROOT

BENCHMARKS = ROOT / "benchmarks"


def load_benchmark(name: str):
    if str(BENCHMARKS) not in sys.path:  # the scripts import their shared harness
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
