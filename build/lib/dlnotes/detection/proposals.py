"""Region proposals by selective search (Uijlings et al. 2013), as R-CNN and Fast R-CNN use.

notes: step 1 of R-CNN and Fast R-CNN — find about 1000–2000 candidate boxes in the image with
selective search: over-segment the image (graph-based segmentation), then greedily merge the
most similar neighbouring regions (colour, texture, size, fill); every region met on the way is
a proposal. OpenCV's contrib module `ximgproc` implements it (opencv-contrib-python-headless).
"""

import contextlib
import ctypes
import hashlib
from collections.abc import Iterable
from pathlib import Path

import torch

MODES = ("single", "fast", "quality")


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """A (C, H, W) image as uint8 on the CPU; a float image is read as values in [0, 1]."""
    image = image.detach().cpu()
    if image.dtype == torch.uint8:
        return image
    return (image.float() * 255).round().clamp(0, 255).to(torch.uint8)


def opencv_image(image: torch.Tensor):
    """(C, H, W) uint8 tensor → (H, W, 3) contiguous numpy array, as OpenCV expects (BGR)."""
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected a (1 or 3, H, W) image, got {tuple(image.shape)}")
    # notes: gray → 3 channels, selective search works on colour; RGB → BGR for OpenCV
    image = image.expand(3, -1, -1) if image.shape[0] == 1 else image.flip(0)
    return image.permute(1, 2, 0).contiguous().numpy()


def selective_search(
    image: torch.Tensor,
    max_proposals: int = 2000,
    mode: str = "fast",
    min_size: float = 2.0,
    scale: float = 1.0,
    seed: int | None = 0,
) -> torch.Tensor:
    """(C, H, W) image (uint8, or float in [0, 1]) → (P, 4) float32 xyxy proposals, P ≤ max.

    `mode`: "single" (one strategy), "fast" (R-CNN's choice) or "quality". Boxes thinner or
    shorter than `min_size` pixels and duplicates are dropped; OpenCV's order (most merged,
    i.e. most object-like, first) is kept, so truncating to `max_proposals` keeps the best.
    `scale` > 1 searches an enlarged copy (bilinear) and scales the boxes back: the
    segmentation's region sizes are tuned for photos, so tiny images give few proposals.
    OpenCV ranks regions by level × C `rand()`: `seed` (not None) seeds C's generator first,
    so an image always gives the same proposals in the same order.
    """
    if mode not in MODES:
        raise ValueError(f"selective search mode {mode!r}: choose one of {', '.join(MODES)}")
    import cv2  # opencv-contrib-python-headless: imported here, so the package is optional

    search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    pixels = opencv_image(to_uint8(image))
    if scale != 1.0:
        pixels = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    search.setBaseImage(pixels)
    if mode == "single":
        search.switchToSingleStrategy()
    elif mode == "fast":
        search.switchToSelectiveSearchFast()
    else:
        search.switchToSelectiveSearchQuality()
    if seed is not None:
        seed_c_rand(seed)
    rects = search.process()  # (P, 4) x, y, w, h
    if rects is None or len(rects) == 0:
        return torch.zeros(0, 4)
    rects = torch.as_tensor(rects, dtype=torch.float32).reshape(-1, 4) / scale
    boxes = torch.cat([rects[:, :2], rects[:, :2] + rects[:, 2:]], dim=1)  # xywh → xyxy
    boxes = boxes[(rects[:, 2:] >= min_size).all(dim=1)]
    return unique_boxes(boxes)[:max_proposals]


def seed_c_rand(seed: int) -> None:
    """srand(seed) in the C library OpenCV calls rand() from (a no-op where there is none)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).srand(ctypes.c_uint(seed))


def unique_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """Drop repeated boxes, keeping the first occurrence and the order."""
    _, inverse = torch.unique(boxes, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,) if len(boxes) else (0,), len(boxes))
    first = first.scatter_reduce(0, inverse, torch.arange(len(boxes)), reduce="amin")
    return boxes[first.sort().values]


class ProposalCache:
    """Selective search run once per image: proposals kept by a hash of the image's bytes.

    Call it with (N, C, H, W) images (or any iterable of (C, H, W) images) to get a list of N
    (P, 4) proposal tensors on the images' device — the `proposals` callable a detector takes.
    With `directory`, proposals are also saved there as `<hash>.pt` and reloaded across runs.
    """

    def __init__(self, directory: str | Path | None = None, **search_kwargs):
        self.search_kwargs = search_kwargs
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self.memory: dict[str, torch.Tensor] = {}
        self.hits = self.misses = 0

    def key(self, image: torch.Tensor) -> str:
        """Hash of the uint8 image (shape included) and of the search settings."""
        pixels = to_uint8(image).contiguous()
        digest = hashlib.sha1(str(tuple(pixels.shape)).encode())
        digest.update(repr(sorted(self.search_kwargs.items())).encode())
        digest.update(pixels.numpy().tobytes())
        return digest.hexdigest()

    def get(self, image: torch.Tensor) -> torch.Tensor:
        """(C, H, W) image → its (P, 4) proposals on the CPU, searched only the first time."""
        key = self.key(image)
        if key in self.memory:
            self.hits += 1
            return self.memory[key]
        path = self.directory / f"{key}.pt" if self.directory is not None else None
        if path is not None and path.exists():
            self.hits += 1
            boxes = torch.load(path, weights_only=True)
        else:
            self.misses += 1
            boxes = selective_search(image, **self.search_kwargs)
            if path is not None:
                torch.save(boxes, path)
        self.memory[key] = boxes
        return boxes

    def __call__(self, images: torch.Tensor | Iterable[torch.Tensor]) -> list[torch.Tensor]:
        return [self.get(image).to(image.device) for image in images]

    def __len__(self) -> int:
        return len(self.memory)
