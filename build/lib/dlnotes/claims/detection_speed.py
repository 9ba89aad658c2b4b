"""Test-time speed and mAP@0.5 of a detector on the same scenes and the same proposals, at any
number of proposals per image: the notes' comparison of R-CNN with Fast R-CNN.

notes: R-CNN and Fast R-CNN both start from "约1000-2000个候选框" (about 1,000–2,000 selective-
search boxes per image). Selective search finds far fewer on 64×64 digit scenes (about 14 in
its fast mode), so `fixed_count` tops each image's boxes up with random boxes of digit-like
sizes to exactly N: the detectors' cost per region is what the count decides.
"""

import time
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from dlnotes.checkpoints.load import model_from_checkpoint
from dlnotes.detection.detector import ProposalDetector
from dlnotes.detection.proposals import ProposalCache
from dlnotes.tasks.detection import mean_average_precision

RANDOM_BOX_SIDES = (8.0, 40.0)  # pixels: the digit scenes' digits are 10–32 px


def random_boxes(n: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 4) xyxy boxes inside the image, sides uniform in RANDOM_BOX_SIDES."""
    low, high = RANDOM_BOX_SIDES
    sides = low + (high - low) * torch.rand(n, 2, generator=generator)
    sides = torch.minimum(sides, torch.tensor([float(width), float(height)]))
    corner = torch.rand(n, 2, generator=generator) * (torch.tensor([width, height]) - sides)
    return torch.cat([corner, corner + sides], dim=1)


def fixed_count(proposals: list[torch.Tensor], n: int, image_shape, seed: int = 0):
    """Each image's first n proposals, topped up with random boxes to exactly n."""
    generator = torch.Generator().manual_seed(seed)
    height, width = image_shape[-2:]
    out = []
    for boxes in proposals:
        missing = max(0, n - len(boxes))
        out.append(torch.cat([boxes[:n], random_boxes(missing, height, width, generator)]))
    return out


def detect(net, images: torch.Tensor, proposals, batch_size: int) -> tuple[float, list[dict]]:
    """images/s of `net` over `images` (batches of `batch_size`) and its detections; `proposals`
    None: the net makes its own (Faster R-CNN)."""
    floats = images.float() / 255
    detections = []
    with torch.no_grad():
        net(floats[:2], **({"proposals": proposals[:2]} if proposals else {}))  # warm-up
        start = time.perf_counter()
        for i in range(0, len(floats), batch_size):
            extra = {"proposals": proposals[i : i + batch_size]} if proposals else {}
            detections += net(floats[i : i + batch_size], **extra)
    return len(floats) / (time.perf_counter() - start), detections


def map50(detections: list[dict], targets: list[dict]) -> float:
    metric = mean_average_precision()
    metric.update(detections, targets)
    return float(metric.compute()["map_50"])


def test_scenes(data_config, n: int) -> tuple[torch.Tensor, list[dict]]:
    """The first n test scenes and their targets of a digit-scenes data config."""
    data = instantiate(data_config)
    data.setup()
    return data.split("test")[0][:n], data.targets("test")[:n]


def speed_metrics(run_dir: Path, counts: list[int], n: int = 100, batch_size: int = 8) -> dict:
    """A trained detector's run → {"speed/images_per_s@N", "speed/map50@N"} for each N in
    `counts` (proposals per image), on its data config's first n test scenes; a net that makes
    its own proposals (Faster R-CNN) is timed once, as "@own"."""
    config = OmegaConf.load(Path(run_dir) / ".hydra" / "config.yaml")
    net = model_from_checkpoint(Path(run_dir) / "checkpoints" / "last.ckpt").net.eval()
    images, targets = test_scenes(config.data, n)
    if not isinstance(net, ProposalDetector):  # its own region proposal network
        speed, detections = detect(net, images, None, batch_size)
        return {"speed/images_per_s@own": speed, "speed/map50@own": map50(detections, targets)}
    searched = ProposalCache(max_proposals=max(counts), mode="fast")(images)
    metrics = {}
    for count in counts:
        proposals = fixed_count(searched, count, images.shape)
        speed, detections = detect(net, images, proposals, batch_size)
        metrics[f"speed/images_per_s@{count}"] = speed
        metrics[f"speed/map50@{count}"] = map50(detections, targets)
    return metrics
