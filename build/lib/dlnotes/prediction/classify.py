"""A classifier's predictions: predictions.csv (each image's top-k classes, with names and
probabilities) and contact sheets (each image with its most likely class)."""

from pathlib import Path

import torch

from dlnotes.prediction.contact_sheet import ContactSheets
from dlnotes.prediction.inputs import ImageBatch, InputImage
from dlnotes.prediction.outputs import Outputs, write_csv

PREDICTIONS_FILE = "predictions.csv"


class ClassifierOutputs(Outputs):
    def __init__(self, model, out_dir, names, cfg):
        super().__init__(model, out_dir, names, cfg)
        self.top_k = min(int(cfg.top_k), len(names))
        self.rows: list[list] = []
        self.sheets = ContactSheets(self.out_dir, per_page=int(cfg.contact_sheet))

    def write(self, images: torch.Tensor, batch: ImageBatch, inputs: list[InputImage]) -> None:
        probabilities = self.model(images).float().softmax(dim=1).cpu()
        top = probabilities.topk(self.top_k, dim=1)
        for item, values, classes, image in zip(
            inputs, top.values.tolist(), top.indices.tolist(), batch.images, strict=True
        ):
            ranked = [(c, self.names[c], round(p, 6)) for c, p in zip(classes, values, strict=True)]
            self.rows.append([item.name, *(value for entry in ranked for value in entry)])
            self.sheets.add(image, [item.name, f"{ranked[0][1]} {ranked[0][2]:.2f}"])

    def close(self) -> list[Path]:
        header = ["file"]
        for rank in range(1, self.top_k + 1):
            header += [f"class_{rank}", f"name_{rank}", f"probability_{rank}"]
        return [write_csv(self.out_dir / PREDICTIONS_FILE, header, self.rows), *self.sheets.close()]
