"""At the start of training: the model's layers with output shapes, parameters and FLOPs.

A `ModelSummary` (so Lightning adds no other) that logs the table of `python -m
dlnotes.inspect` for the run's model and data, and keeps it as model_inspection.txt in the
run directory.
"""

import logging
from pathlib import Path

from lightning.pytorch.callbacks import ModelSummary
from lightning.pytorch.utilities import rank_zero_only

from dlnotes.nets.inspection import inspect_module, layer_table, model_parts, render

log = logging.getLogger(__name__)


class ModelInspection(ModelSummary):
    def __init__(self, depth: int = 2):
        super().__init__(max_depth=depth)
        self.depth = depth

    @rank_zero_only
    def on_fit_start(self, trainer, pl_module) -> None:
        image_shape = trainer.datamodule.image_shape
        tables = []
        for name, (part, inputs) in model_parts(pl_module, image_shape).items():
            inputs = tuple(x.to(pl_module.device) for x in inputs)
            tables.append(
                render(layer_table(inspect_module(part, *inputs, depth=self.depth), name))
            )
        text = "\n".join(tables)
        log.info("model inspection (per image):\n" + text)
        path = Path(trainer.default_root_dir) / "model_inspection.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
