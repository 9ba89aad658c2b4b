"""python -m dlnotes.inspect model=resnet50 data=cifar10 — the model's layers, parameters, FLOPs.

`compare=conv1x1` prints the notes' 1×1 convolution examples side by side instead.
"""

import logging
import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

import dlnotes  # noqa: F401  (registers the config resolvers)

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("DLNOTES_ROOT", str(ROOT))
log = logging.getLogger(__name__)


def conv1x1_tables() -> list:
    from dlnotes.nets.conv1x1 import bottleneck_vs_plain, notes_example
    from dlnotes.utils.inspection import compare, layer_table

    tables = [layer_table(compare(*notes_example()), "notes: 500×500×100 input, 20 filters")]
    for stage in (2, 3, 4, 5):
        title = f"ResNet50 stage {stage} (224×224 input): bottleneck vs plain block, same width"
        tables.append(layer_table(compare(*bottleneck_vs_plain(stage)), title))
    return tables


def model_tables(cfg: DictConfig) -> list:
    from hydra.utils import instantiate

    from dlnotes.train import build_datamodule
    from dlnotes.utils.inspection import inspect_module, layer_table, model_parts

    datamodule = build_datamodule(cfg)
    model = instantiate(cfg.model)
    return [
        layer_table(inspect_module(part, *inputs, depth=cfg.depth), name)
        for name, (part, inputs) in model_parts(model, datamodule.image_shape).items()
    ]


def inspect(cfg: DictConfig) -> str:
    """Print the tables and save them as inspection.txt in the run directory; return the text."""
    from dlnotes.utils.errors import ConfigError
    from dlnotes.utils.inspection import render

    if cfg.compare not in (None, "conv1x1"):
        raise ConfigError(
            f"compare={cfg.compare} is not known: use compare=conv1x1 or leave it out"
        )
    tables = conv1x1_tables() if cfg.compare == "conv1x1" else model_tables(cfg)
    text = "\n".join(render(table) for table in tables)
    print(text)
    path = Path(cfg.paths.output_dir) / "inspection.txt"
    path.write_text(text)
    log.info(f"saved {path}")
    return text


@hydra.main(version_base="1.3", config_path=str(ROOT / "conf"), config_name="inspect")
def main(cfg: DictConfig) -> None:
    from dlnotes.utils.cli import run_cli

    run_cli(inspect, cfg)


if __name__ == "__main__":
    main()
