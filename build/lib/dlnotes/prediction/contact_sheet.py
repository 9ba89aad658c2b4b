"""Pages of thumbnails with captions: each image as the model saw it, and what it predicted."""

from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

CELL = 96  # thumbnail side in pixels
FONT_SIZE = 11
PADDING = 4


def thumbnail(image: torch.Tensor, side: int = CELL) -> Image.Image:
    """(C, h, w) float in [0, 1] → an RGB image fitting side×side: small images enlarged by a
    whole factor with their pixels as blocks, large ones shrunk."""
    pixels = image.detach().float().cpu().clamp(0, 1).mul(255).round().to(torch.uint8)
    if pixels.shape[0] == 1:
        pixels = pixels.expand(3, -1, -1)
    picture = Image.fromarray(pixels.permute(1, 2, 0).numpy())
    factor = max(1, side // max(picture.size))
    picture = picture.resize((picture.width * factor, picture.height * factor), Image.NEAREST)
    picture.thumbnail((side, side))
    return picture


def fitted(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """`text`, its end cut with "…" until it fits `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def draw_sheet(cells: list[tuple[torch.Tensor, list[str]]], columns: int = 8) -> Image.Image:
    """A grid of `columns` thumbnails a row, each with its caption lines under it."""
    font = ImageFont.load_default(size=FONT_SIZE)
    lines = max(len(caption) for _, caption in cells)
    width, height = CELL + 2 * PADDING, CELL + 2 * PADDING + lines * (FONT_SIZE + 2)
    rows = -(-len(cells) // columns)
    sheet = Image.new("RGB", (min(columns, len(cells)) * width, rows * height), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (image, caption) in enumerate(cells):
        left, top = (n % columns) * width, (n // columns) * height
        picture = thumbnail(image)
        sheet.paste(picture, (left + (width - picture.width) // 2, top + PADDING))
        for k, line in enumerate(caption):
            y = top + PADDING + CELL + 1 + k * (FONT_SIZE + 2)
            shown = fitted(draw, line, font, width - 2)
            draw.text((left + 1, y), shown, fill="black", font=font)
    return sheet


class ContactSheets:
    """contact_sheet.png, then contact_sheet_2.png, ...: `per_page` images a page."""

    def __init__(self, out_dir: Path, per_page: int = 64, columns: int = 8):
        self.out_dir, self.per_page, self.columns = Path(out_dir), per_page, columns
        self.cells: list[tuple[torch.Tensor, list[str]]] = []
        self.pages: list[Path] = []

    def add(self, image: torch.Tensor, caption: list[str]) -> None:
        self.cells.append((image.cpu(), caption))
        if len(self.cells) == self.per_page:
            self.flush()

    def flush(self) -> None:
        if not self.cells:
            return
        page = len(self.pages) + 1
        path = self.out_dir / ("contact_sheet.png" if page == 1 else f"contact_sheet_{page}.png")
        draw_sheet(self.cells, self.columns).save(path)
        self.pages.append(path)
        self.cells = []

    def close(self) -> list[Path]:
        self.flush()
        return self.pages
