"""Inference speed of the R-CNN family on the same test scenes and the same proposals.

    python benchmarks/detection_speed.py rcnn=<ckpt> fast_rcnn=<ckpt> [faster_rcnn=<ckpt>] [n=300]
        [mode=fast|quality] [scale=1]    (selective search: scale>1 searches an enlarged copy)

R-CNN and Fast R-CNN get the selective-search proposals computed once beforehand (so the
timing is the detectors', as the notes compare them); Faster R-CNN makes its own with its RPN.
Prints images/s for each and the ratios Fast / R-CNN and Faster / Fast, in one run.
"""

import sys
import time

import torch

from dlnotes.data.digit_scenes import DigitScenesDataModule
from dlnotes.detection.proposals import ProposalCache
from dlnotes.utils.checkpoint import model_from_checkpoint


def parse(argv: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in argv)


def test_scenes(n: int) -> torch.Tensor:
    data = DigitScenesDataModule(task="detection", test_size=n)
    data.setup()
    return data.split("test")[0][:n]


def images_per_second(net, images: torch.Tensor, proposals, batch_size: int = 32) -> float:
    floats = images.float() / 255
    with torch.no_grad():
        net(floats[:2], **({"proposals": proposals[:2]} if proposals else {}))  # warm-up
        start = time.perf_counter()
        for i in range(0, len(floats), batch_size):
            extra = {"proposals": proposals[i : i + batch_size]} if proposals else {}
            net(floats[i : i + batch_size], **extra)
    return len(floats) / (time.perf_counter() - start)


def main(argv: list[str]) -> None:
    args = parse(argv)
    n, mode, scale = int(args.pop("n", 300)), args.pop("mode", "fast"), float(args.pop("scale", 1))
    images = test_scenes(n)
    proposals = ProposalCache(max_proposals=2000, mode=mode, scale=scale)(images)
    counts = [len(p) for p in proposals]
    print(f"{n} test scenes, {sum(counts) / n:.1f} proposals per image ({mode}, scale {scale})")
    speed = {}
    for name, ckpt in args.items():
        net = model_from_checkpoint(ckpt).net.eval()
        shared = None if name == "faster_rcnn" else proposals
        speed[name] = images_per_second(net, images, shared)
        print(f"{name:12s} {speed[name]:8.1f} images/s")
    if {"rcnn", "fast_rcnn"} <= set(speed):
        print(f"Fast R-CNN / R-CNN: {speed['fast_rcnn'] / speed['rcnn']:.1f}×")
    if {"fast_rcnn", "faster_rcnn"} <= set(speed):
        print(f"Faster R-CNN / Fast R-CNN: {speed['faster_rcnn'] / speed['fast_rcnn']:.1f}×")


if __name__ == "__main__":
    main(sys.argv[1:])
