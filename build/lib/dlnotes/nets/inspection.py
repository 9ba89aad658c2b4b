"""Per-layer output shape, parameters and FLOPs of a model, from PyTorch's own FLOP counter.

`torch.utils.flop_counter.FlopCounterMode` counts a multiply-add as 2 FLOPs (convolutions and
matrix products; elementwise ops are not counted). One image goes through the model in eval
mode, so the numbers are per image.
"""

import io
from dataclasses import dataclass

import torch
from rich.console import Console
from rich.table import Table
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchmetrics import Metric


@dataclass
class Layer:
    name: str
    kind: str
    output_shape: str
    params: int
    flops: int


def _shape(output) -> str:
    if isinstance(output, torch.Tensor):
        return "×".join(str(size) for size in output.shape[1:])  # per image
    if isinstance(output, tuple | list):
        return ", ".join(_shape(item) for item in output)
    return ""


def inspect_module(module: nn.Module, *inputs: torch.Tensor, depth: int = 2) -> list[Layer]:
    """One row per submodule down to `depth` levels, then a `total` row."""
    shown = [
        (name, m)
        for name, m in module.named_modules()
        if name and name.count(".") < depth and not isinstance(m, Metric)  # layers, not metrics
    ]
    shapes: dict[str, str] = {}

    def record(name: str):
        def hook(_module, _inputs, output) -> None:  # returns None: the output is unchanged
            shapes.setdefault(name, _shape(output))

        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in shown]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            output = module(*inputs)
    finally:
        module.train(was_training)
        for hook in hooks:
            hook.remove()
    counts = counter.get_flop_counts()
    root = type(module).__name__

    def flops(name: str) -> int:
        return int(sum(counts.get(f"{root}.{name}" if name else root, {}).values()))

    def params(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    rows = [
        Layer(name, type(m).__name__, shapes.get(name, ""), params(m), flops(name))
        for name, m in shown
    ]
    rows.append(Layer("total", root, _shape(output), params(module), counter.get_total_flops()))
    return rows


def human(number: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(number) >= size:
            return f"{number / size:.2f} {unit}"
    return str(number)


def layer_table(rows: list[Layer], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("layer", "left"),
        ("type", "left"),
        ("output", "right"),
        ("params", "right"),
        ("FLOPs", "right"),
    ):
        table.add_column(column, justify=justify)
    for row in rows:
        style = "bold" if row.name == "total" else None
        table.add_row(
            row.name, row.kind, row.output_shape, f"{row.params:,}", human(row.flops), style=style
        )
    return table


def render(table: Table, width: int = 110) -> str:
    """The table as plain text (for logs and files)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(table)
    return console.export_text()


def model_parts(model: nn.Module, image_shape, latent_dim: int | None = None) -> dict:
    """What to inspect, with one example input each: a GAN's two nets, else the model."""
    images = torch.zeros(1, *image_shape)
    if hasattr(model, "generator") and hasattr(model, "discriminator"):
        z = torch.zeros(1, latent_dim or model.latent_dim)
        return {
            "generator": (model.generator, (z,)),
            "discriminator": (model.discriminator, (images,)),
        }
    net = getattr(model, "net", model)
    return {type(net).__name__: (net, (images,))}


def compare(modules: dict[str, nn.Module], example: torch.Tensor) -> list[Layer]:
    """One `total` row per module on the same input, counted on the meta device (no compute)."""
    rows = []
    for name, module in modules.items():
        total = inspect_module(module.to("meta"), example.to("meta"), depth=0)[-1]
        rows.append(Layer(name, total.kind, total.output_shape, total.params, total.flops))
    return rows
