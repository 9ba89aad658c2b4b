"""The images `predict.py` is given: one file, or every file under a folder.

Files are read in a `DataLoader` (workers decode them when `num_workers` > 0). A file that is
not a readable image does not stop the others: its batch lists it with the reason, and the run
reports it and goes on.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from dlnotes.errors import ConfigError
from dlnotes.prediction.convert import ImageConversion, read_image, to_rgb_uint8


@dataclass
class InputImage:
    """One input file; `id` numbers them from 1 in listing order (COCO's image_id)."""

    id: int
    path: Path
    name: str  # relative to the input folder, with "/" between folders
    stem: str  # the name of its outputs, without suffix; unique in the run
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    error: str | None = None


def list_inputs(given: str) -> list[InputImage]:
    """The file, or the files under the folder (not hidden ones), sorted by path."""
    path = Path(given).expanduser()
    if path.is_file():
        root, files = path.parent, [path]
    elif path.is_dir():
        root = path
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise ConfigError(
                f"input={given} is an empty folder: put the images to predict in it, "
                "or give one image file"
            )
    else:
        raise ConfigError(f"input={given} does not exist: give an image file or a folder of them")
    names = [file.relative_to(root).as_posix() for file in files]
    stems = unique_stems(names)
    return [
        InputImage(index + 1, file, name, stem)
        for index, (file, name, stem) in enumerate(zip(files, names, stems, strict=True))
    ]


def unique_stems(names: list[str]) -> list[str]:
    """ "a/cat.jpg" → "a/cat"; when two files differ only in suffix, both keep it ("cat_jpg")."""
    stems = [str(Path(name).with_suffix("")) for name in names]
    counts = Counter(stems)
    return [
        stem if counts[stem] == 1 else name.replace(".", "_")
        for stem, name in zip(stems, names, strict=True)
    ]


def one_line_reason(error: BaseException, path: Path) -> str:
    """PIL's reason without the file's path (the report names the file already)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    for shown in (repr(str(path)), str(path)):
        reason = reason.replace(f" {shown}", "").replace(shown, "")
    return reason.rstrip(" :") or type(error).__name__


@dataclass
class ImageBatch:
    """The readable images of a batch and what the others failed with."""

    indices: list[int]  # positions in the input list
    images: torch.Tensor  # (n, C, H, W) float in [0, 1], as the model takes them
    sizes: list[tuple[int, int]]  # each image's own (width, height)
    modes: list[str]
    originals: list[torch.Tensor] = field(default_factory=list)  # (3, h, w) uint8, if kept
    failed: list[tuple[int, str]] = field(default_factory=list)  # (position, reason)


class InputImages(Dataset):
    """Sample i: the converted image (or the reason it could not be read), its own size and
    mode, and with `originals` its RGB pixels at its own size, for pictures drawn over it."""

    def __init__(
        self, inputs: list[InputImage], conversion: ImageConversion, originals: bool = False
    ):
        self.inputs, self.conversion, self.originals = inputs, conversion, originals

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> dict:
        path = self.inputs[index].path
        try:
            image = read_image(path)
            sample = {"image": self.conversion(image), "size": image.size, "mode": image.mode}
            if self.originals:
                sample["original"] = to_rgb_uint8(image, self.conversion.background)
        except Exception as error:  # any file that does not decode: reported, not fatal
            return {
                "index": index,
                "error": f"not a readable image: {one_line_reason(error, path)}",
            }
        return {"index": index, **sample}


def collate(samples: list[dict]) -> ImageBatch:
    read = [sample for sample in samples if "error" not in sample]
    channels_first = (0, *read[0]["image"].shape) if read else (0, 0, 0, 0)
    return ImageBatch(
        indices=[sample["index"] for sample in read],
        images=torch.stack([s["image"] for s in read]) if read else torch.empty(channels_first),
        sizes=[sample["size"] for sample in read],
        modes=[sample["mode"] for sample in read],
        originals=[sample["original"] for sample in read if "original" in sample],
        failed=[(sample["index"], sample["error"]) for sample in samples if "error" in sample],
    )


def input_batches(
    inputs: list[InputImage],
    conversion: ImageConversion,
    batch_size: int,
    num_workers: int = 0,
    originals: bool = False,
) -> DataLoader:
    return DataLoader(
        InputImages(inputs, conversion, originals),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate,
    )
