"""Tiny datasets written on disk in the layouts the datamodules read."""

import struct
from pathlib import Path

import torch

TINY_MNIST_SIZES = {"train": 500, "t10k": 150}


def write_tiny_mnist(root: Path) -> Path:
    """`root/MNIST/raw/`: the bundled handwritten digits at 28×28 in MNIST's IDX files (500
    train, 150 test), which `torchvision.datasets.MNIST(root, download=False)` reads as MNIST."""
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(digits.images).float().div(16).unsqueeze(1)
    images = F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)
    images = images.squeeze(1).clamp(0, 1).mul(255).round().to(torch.uint8)
    labels = torch.from_numpy(digits.target).to(torch.uint8)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    start = 0
    for name, n in TINY_MNIST_SIZES.items():
        part, part_labels = images[start : start + n], labels[start : start + n]
        start += n
        # IDX: magic (0, 0, type 0x08 = uint8, number of dimensions), then each size, big-endian
        header = struct.pack(">HBBIII", 0, 8, 3, n, 28, 28)
        (raw / f"{name}-images-idx3-ubyte").write_bytes(header + part.numpy().tobytes())
        label_header = struct.pack(">HBBI", 0, 8, 1, n)
        (raw / f"{name}-labels-idx1-ubyte").write_bytes(
            label_header + part_labels.numpy().tobytes()
        )
    return root


def write_image_folder(root: Path, classes: int, per_class: int = 4) -> Path:
    """`root/<class>/<i>.png`: 32×32 gray images, a different shade per class."""
    from PIL import Image

    for label in range(classes):
        (root / f"class_{label}").mkdir(parents=True)
        for i in range(per_class):
            shade = 40 * label + i
            Image.new("L", (32, 32), color=shade).save(root / f"class_{label}" / f"{i}.png")
    return root
