"""Draw new images from a trained generative model. `sample.py` at the root calls `sample(cfg)`."""

import logging
from pathlib import Path

import lightning as L
import torch
from omegaconf import DictConfig

from dlnotes.checkpoints.load import model_from_checkpoint
from dlnotes.errors import ConfigError
from dlnotes.loggers.images import grid_image, save_png

log = logging.getLogger(__name__)


def sample(cfg: DictConfig) -> dict[str, Path]:
    """Write `num_samples` images from `ckpt_path` as a PNG grid and as a tensor file."""
    if cfg.num_samples < 1:
        raise ConfigError(f"num_samples={cfg.num_samples} is not valid: it must be ≥ 1")
    model = model_from_checkpoint(cfg.ckpt_path)
    if not callable(getattr(model, "sample", None)):
        raise ConfigError(
            f"{cfg.ckpt_path} holds a {type(model).__name__}, which does not generate images: "
            "give a checkpoint of model=vae or model=gan"
        )
    L.seed_everything(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    images = model.sample(cfg.num_samples, generator=generator).cpu()
    out = Path(cfg.paths.output_dir)
    paths = {"png": out / "samples.png", "tensor": out / "samples.pt"}
    save_png(grid_image(images, nrow=cfg.nrow), paths["png"])
    torch.save(images, paths["tensor"])
    log.info(f"{len(images)} samples: {paths['png']} and {paths['tensor']} (N×C×H×W in [0, 1])")
    return paths
