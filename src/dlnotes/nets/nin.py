"""Network in Network (Lin et al. 2013), the CIFAR-10 network of the paper.

notes: an mlpconv layer is a k×k convolution followed by 1×1 convolutions — a small MLP
applied at every pixel — and global average pooling replaces the fully connected layers:
the last mlpconv gives one feature map per class and its spatial mean is the class score.
"""

import math

import torch
from torch import nn

from dlnotes.nets.norm import conv_bias, norm_layer


class ConvNormReLU(nn.Sequential):
    """conv → norm → ReLU (notes: BN goes before the non-linearity)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, norm: str, relu: bool = True):
        layers = [
            nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=conv_bias(norm)),
            norm_layer(norm, out_ch),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


ONE_BY_ONE = ("relu", "linear", "none")


class MLPConv(nn.Sequential):
    """notes: mlpconv = k×k conv, then 1×1 convs acting as a per-pixel MLP, each with a ReLU
    ("多个1x1的卷积核级联就可以实现对多通道的feature map做非线性的组合，
    再配合激活函数，就可以实现MLP结构").

    `one_by_one` is what the claims compare: "relu" (the paper), "linear" (the 1×1 convs
    without the ReLU after them: a linear map of the channels), "none" (no 1×1 convs: the k×k
    conv goes straight to the block's output width, as a plain CNN layer would).
    """

    def __init__(
        self,
        in_ch: int,
        widths: list[int],
        kernel: int,
        norm: str,
        last_relu: bool = True,
        one_by_one: str = "relu",
        reduce_to: int | None = None,
    ):
        # notes: a 1×1 conv first cuts the channels the k×k conv sees ("降维", fewer parameters)
        reduce = [ConvNormReLU(in_ch, reduce_to, 1, norm)] if reduce_to else []
        in_ch = reduce_to or in_ch
        if one_by_one == "none":
            super().__init__(*reduce, ConvNormReLU(in_ch, widths[-1], kernel, norm, relu=last_relu))
            return
        layers = [*reduce, ConvNormReLU(in_ch, widths[0], kernel, norm)]
        for i in range(1, len(widths)):
            is_last = i == len(widths) - 1
            relu = one_by_one == "relu" and (last_relu or not is_last)
            layers.append(ConvNormReLU(widths[i - 1], widths[i], 1, norm, relu=relu))
        super().__init__(*layers)


class NIN(nn.Module):
    """[5×5 192, 1×1 160, 1×1 96] → max-pool 3/2 → dropout → [5×5 192, 1×1 192, 1×1 192]
    → avg-pool 3/2 → dropout → [3×3 192, 1×1 192, 1×1 classes] → global average pool.

    `class_relu=True` keeps the paper's ReLU after the class conv (its exact network); the
    default drops it, because without BN that ReLU lets class maps die (a measured plateau
    near 60% on digits) — logits must be able to go negative.

    `one_by_one="linear"|"none"` drops the ReLU after each 1×1 conv, or the 1×1 convs
    themselves (MLPConv).

    `reduction=r` (> 1) puts a 1×1 conv before the k×k conv of the second and third blocks,
    cutting its input from C to C/r channels: the bottleneck the notes describe (the first
    block's input is the image, nothing to reduce).

    `head="fc"` is the comparison the notes make: the last block's two 1×1 convs and the global
    average pooling give way to a flatten and two fully connected layers of the same widths
    (192, classes), as in a conventional CNN.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        norm: str = "batchnorm",
        dropout: float = 0.5,
        class_relu: bool = False,
        head: str = "gap",
        image_size: int | None = None,
        one_by_one: str = "relu",
        reduction: int = 1,
    ):
        super().__init__()
        if reduction < 1:
            raise ValueError(f"model.net.reduction={reduction}: use 1 (none) or more")
        if head not in ("gap", "fc"):
            raise ValueError(f"model.net.head={head!r}: use gap (the paper) or fc")
        if one_by_one not in ONE_BY_ONE:
            raise ValueError(f"model.net.one_by_one={one_by_one!r}: use one of {ONE_BY_ONE}")
        if head == "fc" and image_size is None:
            raise ValueError("model.net.head=fc needs model.net.image_size (the input's side)")
        self.in_channels, self.head = in_channels, head
        last_widths = [192, 192, num_classes] if head == "gap" else [192]

        def cut(channels: int) -> int | None:  # the reduced width, None for no reduction
            return channels // reduction if reduction > 1 else None

        self.features = nn.Sequential(
            MLPConv(in_channels, [192, 160, 96], 5, norm, one_by_one=one_by_one),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.Dropout(dropout),
            MLPConv(96, [192, 192, 192], 5, norm, one_by_one=one_by_one, reduce_to=cut(96)),
            nn.AvgPool2d(3, stride=2, padding=1),
            nn.Dropout(dropout),
            MLPConv(
                192,
                last_widths,
                3,
                norm,
                last_relu=class_relu or head == "fc",
                one_by_one=one_by_one,
                reduce_to=cut(192),
            ),
        )
        # notes: global average pooling — one map per class, no fully connected layer
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        if head == "fc":  # the two pools halve the side (rounding up): 28 → 14 → 7
            side = math.ceil(math.ceil(image_size / 2) / 2)
            self.fc = nn.Sequential(
                nn.Flatten(),
                nn.Linear(192 * side * side, 192),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(192, num_classes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.head == "fc":
            return self.fc(self.features(x))
        return self.global_pool(self.features(x)).flatten(1)

    @property
    def class_conv(self) -> nn.Module:
        """The last 1×1 conv (with its norm): 192 channels → one map per class (head="gap")."""
        return self.features[-1][-1]

    @property
    def embed_dim(self) -> int:
        """Width of `embed`'s output, known without a forward pass."""
        return self.class_conv[0].in_channels

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 192): the global average of the maps that enter the class conv — the
        penultimate features a domain FID compares (the class maps alone would be too few).

        It runs the modules of `features` in place (no re-wrapping), so the state-dict keys stay
        as they were and old checkpoints load.
        """
        x = self.features[:-1](x)
        *before_class_conv, _ = self.features[-1]
        for layer in before_class_conv:
            x = layer(x)
        return self.global_pool(x).flatten(1)

    def check_input_shape(self, image_shape: tuple[int, int, int]) -> None:
        channels = image_shape[0]
        if channels != self.in_channels:
            raise ValueError(
                f"NIN expects {self.in_channels}-channel images, data gives "
                f"{'×'.join(map(str, image_shape))}: set model.net.in_channels={channels}"
            )
