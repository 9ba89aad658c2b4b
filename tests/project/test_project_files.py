"""The README's commands, CI and the conda environment agree with each other."""

import ast
import re
import tomllib

from helpers.paths import ROOT


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_ci_runs_exactly_the_readme_test_command():
    test_command = readme_commands()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci_lines[-1] == test_command


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["dev"] + extras["export"]
    conda = (ROOT / "environment.yml").read_text()
    for requirement in wanted:
        assert f"- {requirement}\n" in conda, requirement


def torch_load_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("torch.load", "load"):
            yield node


def test_every_torch_load_in_src_refuses_pickled_code():
    """`torch.load(..., weights_only=True)` everywhere: a checkpoint cannot run code."""
    calls = 0
    for path in sorted((ROOT / "src").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        imports_load = any(
            isinstance(node, ast.ImportFrom)
            and node.module == "torch"
            and any(alias.name == "load" for alias in node.names)
            for node in ast.walk(tree)
        )
        for call in torch_load_calls(tree):
            if ast.unparse(call.func) == "load" and not imports_load:
                continue  # some other load()
            calls += 1
            options = {k.arg: k.value for k in call.keywords}
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            assert "weights_only" in options, f"{where}: torch.load without weights_only=True"
            assert ast.literal_eval(options["weights_only"]) is True, where
    assert calls >= 3  # checkpoints/load.py, loggers/wandb.py, detection/proposals.py
