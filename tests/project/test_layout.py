"""The structure of src/dlnotes (docs/architecture.md): the layers in pyproject.toml hold, an
import that climbs a layer is caught with its path, and what the layout replaced stays gone."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers.paths import ROOT

SRC = ROOT / "src" / "dlnotes"
LINT_IMPORTS = (  # the `lint-imports` command, run by this Python
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)


def lint_imports(src_root: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts of pyproject.toml, on the package found under `src_root`."""
    env = os.environ | {"PYTHONPATH": str(src_root)}
    command = [sys.executable, "-c", LINT_IMPORTS, "--config", str(ROOT / "pyproject.toml")]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=src_root)


def test_the_layers_hold():
    done = lint_imports(ROOT / "src")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_an_import_that_climbs_a_layer_fails_with_its_path(tmp_path):
    copy = tmp_path / "src" / "dlnotes"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    norm = copy / "nets" / "norm.py"
    norm.write_text(norm.read_text() + "\nfrom dlnotes.run.build import build_model  # climbs\n")
    done = lint_imports(tmp_path / "src")
    assert done.returncode != 0
    assert "dlnotes.nets is not allowed to import dlnotes.run" in done.stdout
    assert "dlnotes.nets.norm -> dlnotes.run.build" in done.stdout


def function_imports(path: Path) -> list[str]:
    """`from dlnotes… import` statements inside functions (an order dodged, not fixed)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("dlnotes"):
                    found.append(f"{path.relative_to(ROOT)}:{inner.lineno} {inner.module}")
    return found


def test_no_package_imports_inside_functions():
    found = [hit for path in sorted(SRC.rglob("*.py")) for hit in function_imports(path)]
    assert found == []


def test_no_utils_folder_and_one_way_to_find_the_repository():
    assert not any(p.name in {"utils", "plugins"} for p in SRC.iterdir())
    climbing = [
        str(path.relative_to(ROOT))
        for folder in (SRC, ROOT / "benchmarks")
        for path in folder.rglob("*.py")
        if "parents[" in path.read_text() and path.name != "paths.py"
    ]
    assert climbing == []


def test_every_folder_of_the_package_is_a_layer():
    layers = (ROOT / "pyproject.toml").read_text().split("layers = [", 1)[1].split("]", 1)[0]
    named = {part.strip().strip('",') for line in layers.splitlines() for part in line.split("|")}
    modules = {
        f"dlnotes.{p.stem}"
        for p in SRC.iterdir()
        if (p / "__init__.py").exists() or (p.suffix == ".py" and p.stem != "__init__")
    }
    assert modules - named == set()


def test_the_import_drawing_in_the_docs_is_the_codes():
    """docs/architecture.md holds what scripts/import_layers.py draws from today's imports
    (refresh it with `python scripts/import_layers.py --write`)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "import_layers.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() in (ROOT / "docs" / "architecture.md").read_text()
