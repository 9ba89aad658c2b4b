"""Domain FID of a trained GAN against the same GAN untrained, on the test images, in one run.

    python benchmarks/gan_fid.py --gan-ckpt logs/dcgan_mnist/runs/<run>/checkpoints/last.ckpt

The untrained generator is the checkpoint's own architecture, freshly initialized (seeded); both
are measured with the checkpoint's FID feature classifier on the same real test images.
"""

import argparse

import torch
from hydra.utils import instantiate

from dlnotes.checkpoints.load import load_checkpoint, model_from_checkpoint, saved_config
from dlnotes.metrics.fid import domain_fid


def fid_of(generate, real: torch.Tensor, fid, batch: int = 500) -> float:
    fid.reset()
    for chunk in real.split(batch):
        fid.update(chunk, real=True)
        fid.update(generate(len(chunk)), real=False)
    return float(fid.compute())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gan-ckpt", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    saved = saved_config(load_checkpoint(args.gan_ckpt), args.gan_ckpt)
    datamodule = instantiate(saved["data"])
    datamodule.setup("test")
    real = datamodule.on_after_batch_transfer(datamodule.split("test"), 0)[0]
    fid = domain_fid(saved["model"]["fid_features"])

    torch.manual_seed(args.seed)
    untrained = instantiate(saved["model"]).eval()
    trained = model_from_checkpoint(args.gan_ckpt)
    scores = {
        name: fid_of(model.sample, real, fid)
        for name, model in [("untrained", untrained), ("trained", trained)]
    }
    print(f"test images: {len(real)}; features: {saved['model']['fid_features']}")
    print(f"FID untrained generator: {scores['untrained']:.2f}")
    print(f"FID trained generator:   {scores['trained']:.2f}")
    print(f"ratio trained/untrained: {scores['trained'] / scores['untrained']:.4f}")


if __name__ == "__main__":
    main()
