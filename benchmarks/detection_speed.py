"""Inference speed of the R-CNN family on the same test scenes and the same proposals.

    python benchmarks/detection_speed.py rcnn=<ckpt> fast_rcnn=<ckpt> [faster_rcnn=<ckpt>] [n=300]
        [mode=fast|quality] [scale=1]    (selective search: scale>1 searches an enlarged copy)

R-CNN and Fast R-CNN get the selective-search proposals computed once beforehand (so the
timing is the detectors', as the notes compare them); the search's own time per image is
printed beside them. Faster R-CNN makes its own proposals with its RPN. Prints, for each
detector, images/s and test mAP@0.5 on those scenes, then the ratios Fast / R-CNN and
Faster / Fast, in one run.
"""

import sys
import time

import torch

from dlnotes.checkpoints.load import model_from_checkpoint
from dlnotes.claims.detection_speed import detect, map50
from dlnotes.data.digit_scenes import DigitScenesDataModule
from dlnotes.detection.proposals import ProposalCache


def parse(argv: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in argv)


def test_scenes(n: int) -> tuple[torch.Tensor, list[dict]]:
    data = DigitScenesDataModule(task="detection", test_size=n)
    data.setup()
    return data.split("test")[0][:n], data.targets("test")[:n]


def main(argv: list[str]) -> dict[str, float]:
    args = parse(argv)
    n, mode, scale = int(args.pop("n", 300)), args.pop("mode", "fast"), float(args.pop("scale", 1))
    batch_size = int(args.pop("batch_size", 32))
    images, targets = test_scenes(n)
    start = time.perf_counter()
    proposals = ProposalCache(max_proposals=2000, mode=mode, scale=scale)(images)
    search_ms = (time.perf_counter() - start) / n * 1000
    counts = [len(p) for p in proposals]
    print(f"{n} test scenes, {sum(counts) / n:.1f} proposals per image ({mode}, scale {scale}),")
    print(f"selective search {search_ms:.1f} ms per image (not in the detectors' times)")
    speed = {}
    for name, ckpt in args.items():
        net = model_from_checkpoint(ckpt).net.eval()
        shared = None if name == "faster_rcnn" else proposals
        speed[name], detections = detect(net, images, shared, batch_size)
        print(f"{name:12s} {speed[name]:8.1f} images/s   mAP@0.5 {map50(detections, targets):.3f}")
    if {"rcnn", "fast_rcnn"} <= set(speed):
        print(f"Fast R-CNN / R-CNN: {speed['fast_rcnn'] / speed['rcnn']:.1f}×")
    if {"fast_rcnn", "faster_rcnn"} <= set(speed):
        print(f"Faster R-CNN / Fast R-CNN: {speed['faster_rcnn'] / speed['fast_rcnn']:.1f}×")
        with_search = 1 / (1 / speed["fast_rcnn"] + search_ms / 1000)
        print(
            f"Faster R-CNN / Fast R-CNN with its search: {speed['faster_rcnn'] / with_search:.1f}×"
        )
    return speed


if __name__ == "__main__":
    main(sys.argv[1:])
