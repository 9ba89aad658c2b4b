"""DCGAN generator and discriminator (Radford et al. 2015) shaped by the data's image size.

The generator projects z onto a small map and doubles it with stride-2 transposed convs until
it reaches the image; the discriminator mirrors it with stride-2 convs. For any size the plan is
arithmetic: halve while the size is even and above 7, so 64 = 4·2⁴, 32 = 4·2³, 28 = 7·2², 8 = 4·2.
Images are in [0, 1] in this framework, so the generator ends with a sigmoid (not DCGAN's tanh).
"""

from collections.abc import Sequence

import torch
from torch import nn

from dlnotes.nets.norm import conv_bias, norm_layer


def upsampling_plan(size: int) -> tuple[int, int]:
    """(start size, number of ×2 steps) with start · 2^steps = size and start ≤ 7 when it can be."""
    start, steps = size, 0
    while start % 2 == 0 and start > 7:
        start, steps = start // 2, steps + 1
    return start, steps


def image_size(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """(C, H, W) as ints (configs give lists); the nets are built for square images."""
    channels, height, width = (int(s) for s in image_shape)
    if height != width:
        raise ValueError(f"DCGAN nets need square images, got {height}×{width}")
    return channels, height, width


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialization: conv weights ~ N(0, 0.02), BN scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def up_block(in_ch: int, out_ch: int, norm: str) -> nn.Sequential:
    """×2 upsampling: 4×4 transposed conv, stride 2, padding 1 → norm → ReLU."""
    conv = nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=conv_bias(norm))
    return nn.Sequential(conv, norm_layer(norm, out_ch), nn.ReLU(inplace=True))


def down_block(in_ch: int, out_ch: int, norm: str) -> nn.Sequential:
    """÷2 downsampling: 4×4 conv, stride 2, padding 1 → norm → LeakyReLU(0.2)."""
    conv = nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=conv_bias(norm))
    return nn.Sequential(conv, norm_layer(norm, out_ch), nn.LeakyReLU(0.2, inplace=True))


class Generator(nn.Module):
    """z (N, latent_dim) → image (N, C, H, W) in [0, 1].

    z is projected by a transposed conv over a 1×1 map to (base·2^(steps-1), start, start);
    each ×2 step halves the channels; the last step gives the image channels, then a sigmoid.
    """

    def __init__(
        self,
        latent_dim: int,
        image_shape: Sequence[int],
        base_channels: int = 64,
        norm: str = "batchnorm",
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = image_size(image_shape)
        channels, size, _ = self.image_shape
        start, steps = upsampling_plan(size)
        widths = [base_channels * 2**i for i in reversed(range(steps))]  # e.g. 256, 128, 64
        first = widths[0] if widths else channels
        layers = [
            nn.ConvTranspose2d(latent_dim, first, start, bias=conv_bias(norm) or not widths),
        ]
        if widths:
            layers += [norm_layer(norm, first), nn.ReLU(inplace=True)]
            layers += [up_block(a, b, norm) for a, b in zip(widths, widths[1:], strict=False)]
            layers.append(nn.ConvTranspose2d(widths[-1], channels, 4, stride=2, padding=1))
        self.body = nn.Sequential(*layers, nn.Sigmoid())
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z.reshape(z.shape[0], self.latent_dim, 1, 1))


class Discriminator(nn.Module):
    """image (N, C, H, W) → one real-vs-fake logit per image, shape (N,).

    The generator mirrored: stride-2 convs doubling the channels (no norm on the first, as in
    DCGAN: normalizing the raw image hurts), then a conv over the whole start×start map.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        base_channels: int = 64,
        norm: str = "batchnorm",
    ):
        super().__init__()
        self.image_shape = image_size(image_shape)
        channels, size, _ = self.image_shape
        start, steps = upsampling_plan(size)
        widths = [base_channels * 2**i for i in range(steps)]  # e.g. 64, 128, 256
        layers = []
        if widths:
            first = nn.Conv2d(channels, widths[0], 4, stride=2, padding=1)
            layers += [first, nn.LeakyReLU(0.2, inplace=True)]
            layers += [down_block(a, b, norm) for a, b in zip(widths, widths[1:], strict=False)]
        last = widths[-1] if widths else channels
        self.body = nn.Sequential(*layers, nn.Conv2d(last, 1, start))
        self.apply(dcgan_init)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images).flatten()
