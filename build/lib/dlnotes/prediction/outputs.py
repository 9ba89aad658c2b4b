"""What every kind of prediction shares: a model, the run directory, the class names, and the
list of inputs (`inputs.csv`, the unreadable files with their reason)."""

import csv
from pathlib import Path

import torch
from omegaconf import DictConfig

from dlnotes.prediction.inputs import ImageBatch, InputImage

INPUTS_FILE = "inputs.csv"


class Outputs:
    """Subclasses run the model on each batch (`write`) and write their files; `close` writes
    what sums up all batches and returns the paths written."""

    keeps_originals = False  # whether `write` needs each image's own pixels (pictures over it)

    def __init__(self, model: torch.nn.Module, out_dir: Path, names: list[str], cfg: DictConfig):
        self.model, self.out_dir, self.names, self.cfg = model, Path(out_dir), names, cfg

    def write(self, images: torch.Tensor, batch: ImageBatch, inputs: list[InputImage]) -> None:
        """`images`: the batch's readable images on the model's device; `inputs`: their files."""
        raise NotImplementedError

    def close(self) -> list[Path]:
        return []

    def path(self, folder: str, stem: str, suffix: str = ".png") -> Path:
        """`<run>/<folder>/<stem><suffix>`, its folder made (stems may hold subfolders)."""
        path = self.out_dir / folder / f"{stem}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_inputs(out_dir: Path, inputs: list[InputImage]) -> Path:
    """One row per file given: its id, its name, its size and mode, ok or the reason it failed."""
    rows = [
        [i.id, i.name, i.width, i.height, i.mode, "failed" if i.error else "ok", i.error or ""]
        for i in inputs
    ]
    header = ["id", "file", "width", "height", "mode", "status", "error"]
    return write_csv(Path(out_dir) / INPUTS_FILE, header, rows)
