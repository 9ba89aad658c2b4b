"""Send an image to whichever loggers the run has; loggers without images get a PNG file."""

from pathlib import Path

import numpy as np
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only


def figure_to_array(figure) -> np.ndarray:
    """A matplotlib figure as an H×W×3 uint8 array (the figure is closed)."""
    import matplotlib.pyplot as plt

    figure.canvas.draw()
    array = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return array


@rank_zero_only
def log_image(loggers: list[Logger], key: str, image: np.ndarray, step: int, fallback_dir: str):
    """Log an H×W×3 uint8 image under `key` to every logger; save a PNG when none takes images."""
    shown = False
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key, images=[image], step=step)
            shown = True
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image, step, dataformats="HWC")
            shown = True
    if not shown:
        save_png(image, Path(fallback_dir) / "images" / f"{key.replace('/', '_')}_{step}.png")


def save_png(image: np.ndarray, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path
