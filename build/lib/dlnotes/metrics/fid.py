"""FID without the internet: a classifier trained here on the same data replaces Inception.

FID compares the mean and covariance of two image sets' features. Inception's weights must be
downloaded, and its ImageNet features say little about 28×28 digits; the penultimate features
of a classifier trained on the very domain (`python train.py experiment=fid_features_digits`)
need no download and do see what tells one digit from another. Numbers are comparable only
between runs that use the same feature checkpoint (docs/fid.md).
"""

import torch
from hydra.utils import instantiate
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance

from dlnotes.checkpoints.load import load_checkpoint, saved_config
from dlnotes.errors import ConfigError, shape_text

NET_PREFIX = "net."  # ClassificationTask keeps its net under `net`


class DomainFeatures(nn.Module):
    """A trained classifier's penultimate features, for FID on images of its own domain.

    Frozen and always in eval mode: a LightningModule that holds the metric calls `.train()` on
    its children at every epoch, and BN/dropout in training mode would change the features.
    """

    def __init__(self, net: nn.Module, image_shape: tuple[int, int, int]):
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.image_shape = tuple(image_shape)
        # torchmetrics reads this instead of probing with a 3×299×299 dummy image
        self.num_features: int = net.embed_dim

    def train(self, mode: bool = True) -> "DomainFeatures":
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """(N, C, H, W) float in [0, 1] → (N, num_features) float64, the dtype FID computes in.

        Always float32 inside, whatever the trainer's precision: FIDs are compared across runs,
        so bf16 autocast (`bf16-mixed`) or a bf16 cast of the module must not change them.
        """
        self.check_images(images)
        self.follow(images)
        with torch.autocast(images.device.type, enabled=False):
            return self.net.embed(images.float()).double()

    def follow(self, images: Tensor) -> None:
        """Weights onto the images' device, in float32 (a LightningModule may have cast them)."""
        weight = next(self.net.parameters())
        if weight.device != images.device or weight.dtype != torch.float32:
            self.net.to(images.device, torch.float32)

    def check_image_shape(self, image_shape: tuple[int, ...]) -> None:
        """ValueError (one line) unless C×H×W is what the classifier was trained on."""
        if tuple(image_shape) != self.image_shape:
            raise ValueError(
                f"the FID feature classifier was trained on {shape_text(self.image_shape)} "
                f"images, got {shape_text(image_shape)}: use images of its data"
            )

    def check_images(self, images: Tensor) -> None:
        self.check_image_shape(tuple(images.shape[1:]))
        if not images.is_floating_point():
            raise ValueError(f"FID features need float images in [0, 1], got {images.dtype}")


def load_domain_features(ckpt_path: str) -> DomainFeatures:
    """The classifier of a `train.py` checkpoint, rebuilt from its saved config, frozen."""
    checkpoint = load_checkpoint(ckpt_path)
    hint = ": train the feature classifier with `python train.py experiment=fid_features_digits`"
    saved = saved_config(checkpoint, ckpt_path, hint)
    net = instantiate(saved["model"]["net"])
    if not callable(getattr(net, "embed", None)):
        raise ConfigError(
            f"{ckpt_path} holds a {saved['model']['net']['_target_']}, which has no embed() "
            "feature method: train the FID feature classifier with model=nin or model=resnet50"
        )
    load_net_weights(net, checkpoint["state_dict"], ckpt_path)
    return DomainFeatures(net, saved["data"]["image_shape"])


def load_net_weights(net: nn.Module, state_dict: dict, ckpt_path: str) -> None:
    weights = {
        k.removeprefix(NET_PREFIX): v for k, v in state_dict.items() if k.startswith(NET_PREFIX)
    }
    try:
        net.load_state_dict(weights)
    except RuntimeError as error:
        reason = " ".join(str(error).split())[:300]
        raise ConfigError(f"{ckpt_path}: its weights do not fit its saved net: {reason}") from None


def domain_fid(ckpt_path: str) -> FrechetInceptionDistance:
    """FID on the features of `ckpt_path`'s classifier; real features are kept across resets."""
    # torchmetrics 1.9 passes images to a custom feature module unchanged: its `(imgs * 255)
    # .byte()` cast applies only to the built-in Inception, and `normalize` otherwise only picks
    # the dtype of a dummy probe image, which `num_features` makes unneeded. True says what the
    # images are: float in [0, 1], as the datamodules give them.
    return FrechetInceptionDistance(
        feature=load_domain_features(ckpt_path), reset_real_features=False, normalize=True
    )
