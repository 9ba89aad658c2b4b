"""Scenes of several real handwritten digits on a black canvas, for segmentation and detection.

Each scene is a `image_size`² uint8 image holding `min_digits`..`max_digits` digits, each pasted
as a square glyph of side `min_digit_size`..`max_digit_size` pixels at a random position. Its
label is a per-pixel mask: 0 for background, 1 + the digit's class (1..10) where the digit's
ink is, so 11 classes. The digits' tight boxes and classes are kept beside the batches in
`boxes`.

`task="detection"` gives the same scenes as torchvision's detection models take them: batches
`(images, targets)`, targets a list of one dict per image, {"boxes": float (K, 4) x1, y1, x2, y2
in pixels, "labels": int64 (K,) 1 + digit}, so label 0 stays background and num_classes is 11 for
both tasks.
"""

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torchvision.ops import roi_align

from dlnotes.data.base import InMemoryDataModule
from dlnotes.data.batches import TensorBatches
from dlnotes.data.digits import random_split_indices
from dlnotes.data.torchvision_sets import MNISTDataModule
from dlnotes.errors import ConfigError

SOURCES = ("digits", "mnist")
TASKS = ("segmentation", "detection")
SPLITS = ("train", "val", "test")
MNIST_GLYPH_SIZE = 20  # MNIST fits each digit's ink in a 20×20 box before centering it in 28×28
MIN_DIGIT_SIZE = 4
MAX_ROUNDS = 100  # redraws of scenes left with fewer than min_digits digits

Glyphs = tuple[torch.Tensor, torch.Tensor]  # (G, R, R) float in [0, 1], (G,) int64 classes
Target = dict[str, torch.Tensor]  # {"boxes": (K, 4) float xyxy pixels, "labels": (K,) int64}


class DetectionBatches(TensorBatches):
    """`(images, targets)` batches over in-memory images and one target dict per image.

    The order (shuffling, `set_epoch`, DDP shares, `drop_last`) is `TensorBatches`'s, so a
    detection run sees its scenes in the same order as a segmentation run with the same seed.
    Each batch gets fresh dicts holding copies of the tensors: a model or augmentation that
    edits its targets in place leaves the stored ones as they were.
    """

    def __init__(self, images: torch.Tensor, targets: list[Target], batch_size: int, **order):
        if len(targets) != len(images):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        super().__init__(images, targets, batch_size, **order)

    def take(self, batch: torch.Tensor):
        targets = [{k: v.clone() for k, v in self.labels[i].items()} for i in batch.tolist()]
        return self.images[batch], targets


def sklearn_glyphs() -> Glyphs:
    """scikit-learn's 1,797 digits, 8×8: their ink already fills the square."""
    digits = load_digits()
    images = torch.from_numpy(digits.images).float().div_(16)
    return images, torch.from_numpy(digits.target).long()


def mnist_glyphs(data_dir: str, download: bool) -> Glyphs:
    """All of MNIST's images (train then test files), each cropped to the square around its ink.

    The files are read by `MNISTDataModule`, so missing files give its one-line error.
    """
    module = MNISTDataModule(data_dir=data_dir, download=download, val_fraction=0.0)
    splits = module.load_splits()
    images = torch.cat([splits[name][0] for name in SPLITS]).squeeze(1).float().div_(255)
    labels = torch.cat([splits[name][1] for name in SPLITS])
    return square_crop(images, MNIST_GLYPH_SIZE), labels


def ink_boxes(ink: torch.Tensor) -> torch.Tensor:
    """Tight boxes (x1, y1, x2, y2) of boolean masks (M, H, W); x2, y2 are one past the last
    ink column/row, so `mask[y1:y2, x1:x2]` holds all the ink. Empty masks give (0, 0, 0, 0)."""
    rows, cols = ink.any(dim=2), ink.any(dim=1)

    def first_last(lines: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        first = lines.int().argmax(dim=1)
        last = lines.shape[1] - lines.flip(1).int().argmax(dim=1)
        empty = ~lines.any(dim=1)
        return first.masked_fill(empty, 0), last.masked_fill(empty, 0)

    (y1, y2), (x1, x2) = first_last(rows), first_last(cols)
    return torch.stack([x1, y1, x2, y2], dim=1)


def square_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """Each (N, H, W) image's smallest square around its nonzero pixels, resampled to size²."""
    boxes = ink_boxes(images > 0).float()
    centers = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]).amax(dim=1, keepdim=True).clamp_(min=1) / 2
    squares = torch.cat([centers - half, centers + half], dim=1)
    rois = torch.cat([torch.arange(len(images)).float().unsqueeze(1), squares], dim=1)
    crops = roi_align(images.unsqueeze(1), rois, size, sampling_ratio=2, aligned=True)
    return crops.squeeze(1).clamp_(0, 1)


class DigitScenesDataModule(InMemoryDataModule):
    """Multi-digit scenes from real handwriting; batches are (uint8 images, int64 masks).

    Glyphs: `source="digits"` takes scikit-learn's bundled 8×8 digits (no download);
    `source="mnist"` takes MNIST from `data_dir` (downloaded if `download`), each image cropped
    to the square around its ink. The glyphs are split by `split_seed` into disjoint train/val/
    test sets (`glyph_val_fraction`, `glyph_test_fraction`), and each split's scenes use only
    their own glyphs: test scenes show handwriting never seen in training.

    Placement: digits never overlap (their squares may touch). Each digit draws a (size,
    position) pair up to `max_tries` times and takes the first whose square misses the squares
    already placed (rejection sampling); a digit that finds no room is left out, and a scene
    left with fewer than `min_digits` is drawn again. Glyphs are resized with bilinear
    interpolation (antialiased when shrinking).

    Labels: a pixel is a digit's ink when its value exceeds `ink_threshold` × 255 (default
    0.3 of white); since squares never overlap, `(mask > 0) == (image > ink_threshold * 255)`
    holds exactly. Boxes are tight around the ink, in pixels, x2/y2 one past the last ink
    column/row. `boxes[split][i]` is scene i's (boxes (K, 4) float, classes (K,) int64, 0..9);
    `glyph_ids[split][i]` the glyphs it shows (indices into `load_glyphs()`, in the same order),
    drawn from `glyph_splits[split]`.

    Scenes are deterministic in `scene_seed`; each split has its own stream derived from it, so
    changing `train_size` leaves the val and test scenes as they were.

    Batches: `task="segmentation"` gives `(uint8 images (N, 1, S, S), int64 masks (N, S, S))`;
    `task="detection"` gives `(uint8 images (N, 1, S, S), targets)`, targets a list of N dicts
    {"boxes": float32 (K, 4), "labels": int64 (K,) = 1 + digit, in 1..10} (torchvision's
    detection format; `boxes` as above, K may be 0 when min_digits is 0). Either way the images
    become float in [0, 1] on the device (`on_after_batch_transfer`).
    """

    def __init__(
        self,
        image_size: int = 64,
        min_digits: int = 2,
        max_digits: int = 4,
        min_digit_size: int = 16,
        max_digit_size: int = 28,
        ink_threshold: float = 0.3,
        train_size: int = 2000,
        val_size: int = 300,
        test_size: int = 300,
        source: str = "digits",
        data_dir: str | None = None,
        download: bool = True,
        glyph_val_fraction: float = 0.1,
        glyph_test_fraction: float = 0.2,
        scene_seed: int = 0,
        max_tries: int = 50,
        task: str = "segmentation",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.task = task
        self.image_size = image_size
        self.digit_counts = (min_digits, max_digits)
        self.digit_sizes = (min_digit_size, max_digit_size)
        self.ink_threshold = ink_threshold
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.source = source
        self.data_dir = data_dir
        self.download = download
        self.glyph_fractions = {"val": glyph_val_fraction, "test": glyph_test_fraction}
        self.scene_seed = scene_seed
        self.max_tries = max_tries
        self._validate()
        self.boxes: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self.glyph_ids: dict[str, list[torch.Tensor]] = {}
        self.glyph_splits: dict[str, torch.Tensor] = {}

    def _validate(self) -> None:
        """One-line ConfigErrors for arguments that cannot give scenes."""
        size, (min_n, max_n), (min_s, max_s) = self.image_size, self.digit_counts, self.digit_sizes
        if self.task not in TASKS:
            raise ConfigError(f"data.task={self.task!r} is unknown: use one of {TASKS}")
        if self.source not in SOURCES:
            raise ConfigError(f"data.source={self.source!r} is unknown: use one of {SOURCES}")
        if self.source == "mnist" and not self.data_dir:
            raise ConfigError("data.source=mnist needs data.data_dir: the folder MNIST is in")
        counts = {"image_size": size, "max_digits": max_n, "max_tries": self.max_tries}
        counts |= {f"{name}_size": n for name, n in self.sizes.items()}
        for name, value in counts.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"data.{name} must be a positive integer, got {value!r}")
        if not isinstance(min_n, int) or not 0 <= min_n <= max_n:
            raise ConfigError(
                f"data.min_digits={min_n!r} must be an integer in [0, data.max_digits={max_n}]"
            )
        if not isinstance(min_s, int) or min_s < MIN_DIGIT_SIZE:
            raise ConfigError(
                f"data.min_digit_size must be an integer ≥ {MIN_DIGIT_SIZE}, got {min_s!r}"
            )
        if not isinstance(max_s, int) or not min_s <= max_s <= size:
            raise ConfigError(
                f"data.max_digit_size={max_s!r} must lie in [data.min_digit_size={min_s}, "
                f"data.image_size={size}]: raise image_size or lower the digit sizes"
            )
        if min_n * min_s**2 > size**2:
            raise ConfigError(
                f"{min_n} digits of {min_s}×{min_s} pixels cannot fit in {size}×{size} without "
                "overlapping: lower data.min_digits or data.min_digit_size, or raise image_size"
            )
        if not 0 < self.ink_threshold < 1:
            raise ConfigError(f"data.ink_threshold must lie in (0, 1), got {self.ink_threshold!r}")
        val, test = self.glyph_fractions.values()
        if not (val > 0 and test > 0 and val + test < 1):
            raise ConfigError(
                f"data.glyph_val_fraction={val!r} and data.glyph_test_fraction={test!r} must be "
                "positive with a sum below 1 (train takes the rest)"
            )

    def prepare_data(self) -> None:
        """Read (or download) the glyphs and draw the scenes, so missing files stop the run
        before the trainer starts; the scenes are kept for `setup`."""
        self.setup()

    def load_glyphs(self) -> Glyphs:
        """The source's glyphs (G, R, R), float in [0, 1], and their classes."""
        if self.source == "mnist":
            images, labels = mnist_glyphs(self.data_dir, self.download)
        else:
            images, labels = sklearn_glyphs()
        return images, labels

    def load_splits(self):
        images, labels = self.load_glyphs()
        usable = torch.nonzero(images.amax(dim=(1, 2)) >= 0.5).squeeze(1)  # blank glyphs out
        parts = random_split_indices(len(usable), self.glyph_fractions, self.split_seed)
        self.glyph_splits = {name: usable[idx] for name, idx in parts.items()}
        streams = torch.randint(
            2**62, (len(SPLITS),), generator=torch.Generator().manual_seed(self.scene_seed)
        )
        splits = {}
        for name, stream in zip(SPLITS, streams.tolist(), strict=True):
            generator = torch.Generator().manual_seed(stream)
            scenes = self.draw_scenes(self.sizes[name], self.glyph_splits[name], generator)
            canvas, masks, layout = self.render(self.sizes[name], scenes, images, labels)
            splits[name] = (canvas, masks)
            self.boxes[name], self.glyph_ids[name] = layout
        return splits

    def draw_scenes(self, n: int, pool: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Placements (M, 5): scene, y, x, size, glyph id; sorted by scene, in drawing order.

        Scenes that end with fewer than `min_digits` digits are drawn again, all at once.
        """
        min_n = self.digit_counts[0]
        placements = []
        pending = torch.arange(n)
        for _ in range(MAX_ROUNDS):
            squares = self.place_squares(len(pending), generator)  # (P, max_digits, 3)
            placed = squares[..., 2] > 0
            done = placed.sum(dim=1) >= min_n
            scene, slot = torch.nonzero(placed & done.unsqueeze(1), as_tuple=True)
            glyph = pool[torch.randint(len(pool), (len(scene),), generator=generator)]
            placements.append(torch.column_stack([pending[scene], squares[scene, slot], glyph]))
            pending = pending[~done]
            if len(pending) == 0:
                break
        if len(pending):
            raise ConfigError(
                f"could not place {min_n} digits without overlap in {len(pending)} scenes: lower "
                "data.min_digits or data.max_digit_size, or raise data.image_size"
            )
        placements = torch.cat(placements)
        order = torch.sort(placements[:, 0], stable=True).indices
        return placements[order]

    def place_squares(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n, max_digits, 3) squares (y, x, size) by rejection sampling; size 0: not placed."""
        (min_n, max_n), (min_s, max_s) = self.digit_counts, self.digit_sizes
        wanted = torch.randint(min_n, max_n + 1, (n,), generator=generator)
        squares = torch.zeros(n, max_n, 3, dtype=torch.long)
        tries = (n, self.max_tries)
        for slot in range(max_n):
            size = torch.randint(min_s, max_s + 1, tries, generator=generator)
            room = self.image_size - size + 1
            y = (torch.rand(tries, generator=generator) * room).long()
            x = (torch.rand(tries, generator=generator) * room).long()
            free = ~overlaps(y, x, size, squares[:, :slot])  # (n, tries)
            found = free.any(dim=1) & (slot < wanted)
            pick = free.int().argmax(dim=1, keepdim=True)  # the first free try
            chosen = torch.stack([t.gather(1, pick).squeeze(1) for t in (y, x, size)], dim=1)
            squares[:, slot] = chosen * found.unsqueeze(1)
        return squares

    def glyph_patches(self, glyphs: torch.Tensor, side: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Glyphs (M, R, R) resized to side² (bilinear, antialiased when shrinking) as uint8,
        and their ink (value above ink_threshold × 255)."""
        patch = F.interpolate(
            glyphs.unsqueeze(1), (side, side), mode="bilinear", align_corners=False, antialias=True
        )
        patch = patch.squeeze(1).clamp_(0, 1).mul_(255).round_().to(torch.uint8)
        return patch, patch.float() > self.ink_threshold * 255

    def render(self, n: int, placements: torch.Tensor, images: torch.Tensor, labels: torch.Tensor):
        """Paste the glyphs into n scenes: images (n, 1, S, S) uint8, masks (n, S, S) int64, and
        per scene (boxes, classes) and glyph ids.

        A glyph left without ink at its size (possible only for faint glyphs at tiny sizes) is
        not pasted and not listed.
        """
        size = self.image_size
        canvas = torch.zeros(n * size * size, dtype=torch.uint8)
        masks = torch.zeros(n * size * size, dtype=torch.long)
        boxes = torch.zeros(len(placements), 4, dtype=torch.long)
        scene, y, x, side, glyph = placements.unbind(1)
        for s in side.unique().tolist():
            group = torch.nonzero(side == s).squeeze(1)
            patch, ink = self.glyph_patches(images[glyph[group]], s)
            patch *= ink.flatten(1).any(dim=1).view(-1, 1, 1)  # no ink: nothing pasted
            offsets = torch.arange(s)
            rows = (scene[group] * size + y[group]).view(-1, 1, 1) + offsets.view(1, s, 1)
            flat = rows * size + x[group].view(-1, 1, 1) + offsets.view(1, 1, s)
            canvas[flat] = patch
            masks[flat] = ink * (1 + labels[glyph[group]]).view(-1, 1, 1)
            boxes[group] = ink_boxes(ink) + torch.stack([x, y, x, y], dim=1)[group]
        kept = (boxes[:, 2:] > boxes[:, :2]).all(dim=1)
        scene, boxes, glyph = scene[kept], boxes[kept].float(), glyph[kept]
        counts = torch.bincount(scene, minlength=n).tolist()
        layout = (
            list(zip(boxes.split(counts), labels[glyph].split(counts), strict=True)),
            list(glyph.split(counts)),
        )
        return canvas.view(n, 1, size, size), masks.view(n, size, size), layout

    def targets(self, name: str) -> list[Target]:
        """Split `name`'s detection targets: per scene {"boxes", "labels" = 1 + digit}."""
        self.setup()
        return [{"boxes": boxes, "labels": classes + 1} for boxes, classes in self.boxes[name]]

    def batch_data(self, name: str):
        if self.task == "segmentation":
            return super().batch_data(name)
        return self.split(name)[0], self.targets(name)

    @property
    def batch_type(self) -> type[TensorBatches]:
        return TensorBatches if self.task == "segmentation" else DetectionBatches

    @property
    def num_classes(self) -> int:
        return 11

    @property
    def class_names(self) -> list[str]:
        """Mask value or detection label v: 0 is background, 1 + d is digit d."""
        return ["background", *(str(digit) for digit in range(10))]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, self.image_size, self.image_size)


def overlaps(y: torch.Tensor, x: torch.Tensor, size: torch.Tensor, placed: torch.Tensor):
    """(n, tries): whether each candidate square meets any placed square (n, k, 3) of size > 0."""
    py, px, ps = (placed[..., i].unsqueeze(1) for i in range(3))  # (n, 1, k)
    y, x, size = y.unsqueeze(2), x.unsqueeze(2), size.unsqueeze(2)  # (n, tries, 1)
    meet = (y < py + ps) & (py < y + size) & (x < px + ps) & (px < x + size) & (ps > 0)
    return meet.any(dim=2)
