"""A detector's predictions: detections.json in COCO's results format (boxes in each image's
own pixels), images.json (the images and categories those refer to, as in a COCO dataset file),
and each image with its boxes drawn."""

import json
from pathlib import Path

import torch
from PIL import Image

from dlnotes.prediction.inputs import ImageBatch, InputImage
from dlnotes.prediction.outputs import Outputs
from dlnotes.tasks.drawing import draw_detections

DETECTIONS_FILE = "detections.json"
IMAGES_FILE = "images.json"
DRAWN_SIDE = 256  # small images are drawn enlarged to about this side, so captions fit


def to_image_pixels(
    boxes: torch.Tensor, model_size: tuple[int, int], image_size: tuple[int, int]
) -> torch.Tensor:
    """xyxy boxes on the model's (height, width) input → on the image's own (width, height)
    pixels (the image was resized to the model's size without keeping its aspect ratio)."""
    (height, width), (image_width, image_height) = model_size, image_size
    scale = boxes.new_tensor([image_width / width, image_height / height] * 2)
    scaled = boxes.float() * scale
    limits = boxes.new_tensor([image_width, image_height] * 2).float()
    return torch.minimum(scaled.clamp(min=0), limits)


def coco_results(image_id: int, detections: dict) -> list[dict]:
    """COCO's results format: one {"image_id", "category_id", "bbox": [x, y, width, height],
    "score"} per box."""
    return [
        {
            "image_id": image_id,
            "category_id": int(label),
            "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
            "score": round(float(score), 5),
        }
        for (x1, y1, x2, y2), label, score in zip(
            detections["boxes"].tolist(),
            detections["labels"].tolist(),
            detections["scores"].tolist(),
            strict=True,
        )
    ]


class DetectorOutputs(Outputs):
    keeps_originals = True

    def __init__(self, model, out_dir, names, cfg):
        super().__init__(model, out_dir, names, cfg)
        threshold = cfg.get("score_threshold")
        self.threshold = float(
            getattr(model, "score_threshold", 0.5) if threshold is None else threshold
        )
        self.results: list[dict] = []
        self.images: list[dict] = []

    def write(self, images: torch.Tensor, batch: ImageBatch, inputs: list[InputImage]) -> None:
        model_size = tuple(images.shape[-2:])
        detections = self.model(images)
        for item, found, original in zip(inputs, detections, batch.originals, strict=True):
            found = {k: found[k].detach().cpu() for k in ("boxes", "labels", "scores")}
            found["boxes"] = to_image_pixels(found["boxes"], model_size, (item.width, item.height))
            self.results += coco_results(item.id, found)
            self.images.append(
                {"id": item.id, "file_name": item.name, "width": item.width, "height": item.height}
            )
            self.draw(original, found, item)

    def draw(self, original: torch.Tensor, found: dict, item: InputImage) -> None:
        """The image (enlarged by a whole factor when small) with the boxes scoring at least
        the threshold, each with its class and score."""
        scale = max(1, DRAWN_SIDE // max(item.width, item.height))
        enlarged = original.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
        empty = {"boxes": torch.zeros(0, 4)}
        drawn = draw_detections(enlarged, empty, found, self.names, scale, self.threshold)
        Image.fromarray(drawn.permute(1, 2, 0).numpy()).save(self.path("drawn", item.stem))

    def close(self) -> list[Path]:
        detections = self.out_dir / DETECTIONS_FILE
        detections.write_text(json.dumps(self.results) + "\n")
        categories = [{"id": label, "name": name} for label, name in enumerate(self.names)][1:]
        images = self.out_dir / IMAGES_FILE
        images.write_text(json.dumps({"images": self.images, "categories": categories}) + "\n")
        return [detections, images]
