"""A VAE's predictions: each image beside its reconstruction (decoded from the mean of q(z|x)),
the reconstructions as a tensor, and the latent means with the files they belong to."""

from pathlib import Path

import torch

from dlnotes.loggers.images import grid_image, save_png
from dlnotes.prediction.inputs import ImageBatch, InputImage
from dlnotes.prediction.outputs import Outputs

LATENTS_FILE = "latents.pt"
RECONSTRUCTIONS_FILE = "reconstructions.pt"


class VAEOutputs(Outputs):
    def __init__(self, model, out_dir, names, cfg):
        super().__init__(model, out_dir, names, cfg)
        self.files: list[str] = []
        self.z_means: list[torch.Tensor] = []
        self.reconstructions: list[torch.Tensor] = []

    def write(self, images: torch.Tensor, batch: ImageBatch, inputs: list[InputImage]) -> None:
        reconstructions = self.model(images).float().cpu()  # decodes z_mean: no sampling
        z_mean, _ = self.model.encoder(images)
        for item, image, reconstruction in zip(inputs, batch.images, reconstructions, strict=True):
            pair = grid_image(torch.stack([image, reconstruction]), nrow=2)
            save_png(pair, self.path("reconstructions", item.stem))
        self.files += [item.name for item in inputs]
        self.z_means.append(z_mean.float().cpu())
        self.reconstructions.append(reconstructions)

    def close(self) -> list[Path]:
        latents, reconstructions = self.out_dir / LATENTS_FILE, self.out_dir / RECONSTRUCTIONS_FILE
        torch.save({"files": self.files, "z_mean": torch.cat(self.z_means)}, latents)
        torch.save(torch.cat(self.reconstructions), reconstructions)
        return [latents, reconstructions]
