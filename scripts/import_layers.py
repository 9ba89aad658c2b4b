"""The import drawing of docs/architecture.md, made from the code: which folder (or entry module)
of src/dlnotes imports which, read by grimp (the graph import-linter checks), in the layer order
of pyproject.toml's contract.

    python scripts/import_layers.py            print the block
    python scripts/import_layers.py --write    put it into docs/architecture.md between its markers

tests/project/test_layout.py checks that the docs hold what this prints.
"""

import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
MARKERS = ("<!-- import-layers:start -->", "<!-- import-layers:end -->")
EVERYWHERE = "errors"  # imported from every layer: drawn once, not as an arrow from each


def layers() -> list[list[str]]:
    """The contract's layers, top first, each a list of names below `dlnotes.`."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = config["tool"]["importlinter"]["contracts"][0]
    return [
        [name.strip().removeprefix("dlnotes.") for name in layer.split("|")]
        for layer in contract["layers"]
    ]


def folder_imports() -> dict[str, set[str]]:
    """{part: the other parts it imports}, a part being a folder or a module of src/dlnotes."""
    graph = grimp.build_graph("dlnotes")
    imports: dict[str, set[str]] = {}
    for module in graph.modules:
        part = module.split(".")[1] if "." in module else None
        if part is None:
            continue
        imported = {m.split(".")[1] for m in graph.find_modules_directly_imported_by(module)}
        imports.setdefault(part, set()).update(imported - {part, None})
    return imports


def block() -> str:
    imports, order = folder_imports(), layers()
    lines = [MARKERS[0], "", "```mermaid", "flowchart TD"]
    for number, layer in enumerate(order, start=1):
        lines.append(f'  subgraph layer{number}["layer {number}"]')
        lines += [f"    {part}" for part in layer]
        lines.append("  end")
    for layer in order:
        for part in layer:
            lines += [f"  {part} --> {b}" for b in sorted(imports.get(part, ())) if b != EVERYWHERE]
    lines += ["```", "", "| layer | part | imports (besides `errors`) |", "| --- | --- | --- |"]
    for number, layer in enumerate(order, start=1):
        for part in layer:
            used = sorted(imports.get(part, set()) - {EVERYWHERE})
            kind = "folder" if (ROOT / "src" / "dlnotes" / part).is_dir() else "module"
            name = f"`{part}/`" if kind == "folder" else f"`{part}.py`"
            lines.append(f"| {number} | {name} | {', '.join(used) or '—'} |")
    lines += ["", MARKERS[1]]
    return "\n".join(lines)


def written(doc: str) -> str:
    start, end = doc.index(MARKERS[0]), doc.index(MARKERS[1]) + len(MARKERS[1])
    return doc[:start] + block() + doc[end:]


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        DOC.write_text(written(DOC.read_text()))
    else:
        print(block())
