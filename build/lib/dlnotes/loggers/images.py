"""Pictures of a run: saved as PNG in the run directory and sent to the loggers that show them."""

from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only


def grid_image(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """A batch (N, C, H, W) with values in [0, 1] as one H×W×3 uint8 picture, `nrow` a row."""
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=padding)
    return grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def figure_to_array(figure) -> np.ndarray:
    """A matplotlib figure as an H×W×3 uint8 array (the figure is closed)."""
    import matplotlib.pyplot as plt

    figure.canvas.draw()
    array = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return array


@rank_zero_only
def log_image(loggers: list[Logger], key: str, image: np.ndarray, step: int, save_dir: str):
    """Save an H×W×3 uint8 image as `save_dir/images/<key>_<step>.png` (so a person can always
    look at it) and send it to every logger that takes images (wandb, TensorBoard)."""
    save_png(image, Path(save_dir) / "images" / f"{key.replace('/', '_')}_{step}.png")
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key, images=[image], step=step)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image, step, dataformats="HWC")


def save_png(image: np.ndarray, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path
