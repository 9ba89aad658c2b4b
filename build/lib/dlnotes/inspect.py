"""python -m dlnotes.inspect model=resnet50 data=cifar10 — the model's layers, parameters, FLOPs.

`compare=conv1x1` prints the notes' 1×1 convolution examples side by side instead.
"""

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from dlnotes.config.paths import conf_dir, repo_root, set_repo_root
from dlnotes.errors import ConfigError
from dlnotes.nets.conv1x1 import bottleneck_vs_plain, notes_example
from dlnotes.nets.inspection import compare, inspect_module, layer_table, model_parts, render
from dlnotes.run.cli import run_cli
from dlnotes.run.data_shape import data_shape

set_repo_root(repo_root())  # conf/paths reads it (DLNOTES_ROOT)
log = logging.getLogger(__name__)


def conv1x1_comparisons() -> dict[str, list]:
    """{title: rows}: the notes' example, then each ResNet50 stage's two blocks."""
    groups = {"notes: 500×500×100 input, 20 filters": compare(*notes_example())}
    for stage in (2, 3, 4, 5):
        title = f"ResNet50 stage {stage} (224×224 input): bottleneck vs plain block, same width"
        groups[title] = compare(*bottleneck_vs_plain(stage))
    return groups


def conv1x1_figure(groups: dict[str, list], path: Path) -> None:
    """Parameters and FLOPs of each compared module, log scale, one bar pair per module."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for group in groups.values() for row in group]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    fields = (("params", "parameters"), ("flops", "FLOPs per image"))
    for axis, (field, label) in zip(axes, fields, strict=True):
        axis.barh([row.name for row in rows], [getattr(row, field) for row in rows])
        axis.set(xscale="log", xlabel=label)
        axis.invert_yaxis()
    axes[1].set_yticklabels([])
    figure.suptitle("1×1 convolutions: the notes' example and ResNet50's bottlenecks")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def model_tables(cfg: DictConfig) -> list:
    from hydra.utils import instantiate

    image_shape, _ = data_shape(cfg)  # the data config's, or the data's when it does not say
    model = instantiate(cfg.model)
    return [
        layer_table(inspect_module(part, *inputs, depth=cfg.depth), name)
        for name, (part, inputs) in model_parts(model, image_shape).items()
    ]


def inspect(cfg: DictConfig) -> str:
    """Print the tables and save them as inspection.txt in the run directory; return the text."""
    if cfg.compare not in (None, "conv1x1"):
        raise ConfigError(
            f"compare={cfg.compare} is not known: use compare=conv1x1 or leave it out"
        )
    output_dir = Path(cfg.paths.output_dir)
    if cfg.compare == "conv1x1":
        groups = conv1x1_comparisons()
        tables = [layer_table(rows, title) for title, rows in groups.items()]
        conv1x1_figure(groups, output_dir / "conv1x1.png")
    else:
        tables = model_tables(cfg)
    text = "\n".join(render(table) for table in tables)
    print(text)
    (output_dir / "inspection.txt").write_text(text)
    log.info(f"saved {output_dir / 'inspection.txt'}")
    return text


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="inspect")
def main(cfg: DictConfig) -> None:
    run_cli(inspect, cfg)


if __name__ == "__main__":
    main()
