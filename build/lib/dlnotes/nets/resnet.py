"""ResNet50 as the study notes build it (Keras course style), as a plain nn.Module.

notes: a residual block learns F(x) and outputs ReLU(F(x) + x); the shortcut lets the signal
and the gradient skip the block, so a very deep net trains no worse than a shallow one.

Layer names follow the Keras notebook: `conv1`, `bn_conv1`, `res2a_branch2a`, `bn2a_branch1`,
..., `fc`. `variant="notes"` is the notebook's net; `variant="torchvision"` puts the stride on
the 3×3 conv (torchvision's "v1.5") so that torchvision's resnet50 weights load into it.

Parameter counts: torch counts 23,520,326 parameters for the notes' 64×64, 6-class net; the
course's Keras summary says 23,600,006 because Keras convs also carry a bias (26,560 numbers)
and Keras counts BN's moving mean and variance (53,120 numbers) as non-trainable parameters.
"""

from collections import OrderedDict

import torch
from torch import nn

from dlnotes.nets.norm import conv_bias, norm_layer

POOLS = ("global", "avg2x2")
VARIANTS = ("notes", "torchvision")
INITS = ("kaiming", "glorot_uniform")

# notes: stages 2–5 as (filters [F1, F2, F3], stride of the conv block, number of identity blocks)
STAGES = {
    2: ([64, 64, 256], 1, 2),
    3: ([128, 128, 512], 2, 3),
    4: ([256, 256, 1024], 2, 5),
    5: ([512, 512, 2048], 2, 2),
}
# notes: "The 2 identity blocks use three set of filters of size [256, 256, 2048]" for stage 5,
# while its conv block uses [512, 512, 2048]. Every other stage's identity blocks repeat their
# conv block's filters, and the course's own summary (23,600,006 parameters) counts [512, 512,
# 2048]: most likely a typo, so [512, 512, 2048] is the default and the written [256, 256, 2048]
# is `stage5_identity_filters=[256,256,2048]` (parameter counts of both:
# tests/nets/test_resnet.py).
NOTES_STAGE5_IDENTITY_FILTERS = [256, 256, 2048]
BLOCK_LETTERS = "abcdef"


# ---------------------------------------------------------------------------------------------
# Spatial arithmetic (no forward pass needed)
# ---------------------------------------------------------------------------------------------


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """notes: output size of a conv or pool = floor((n + 2p − f) / s) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def stage5_size(size: int, variant: str = "notes") -> int:
    """Side of the stage-5 feature map for an input side `size`; 0 if the input is too small."""
    steps = [(7, 2, 3)]  # conv1 7×7/2 (notes: zero-pad 3 first; torchvision: padding=3)
    max_pool_padding = 0 if variant == "notes" else 1
    steps.append((3, 2, max_pool_padding))  # max-pool 3×3/2
    for _filters, stride, _identities in STAGES.values():
        # notes: the conv block's strided 1×1 (or torchvision's strided 3×3, padding 1)
        steps.append((1, stride, 0) if variant == "notes" else (3, stride, 1))
    for kernel, stride, padding in steps:
        size = conv_output_size(size, kernel, stride, padding)
        if size < 1:
            return 0
    return size


def format_shape(shape: tuple[int, ...]) -> str:
    """(1, 32, 32) → '1×32×32'."""
    return "×".join(str(n) for n in shape)


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


def conv(in_ch: int, out_ch: int, kernel: int, stride: int, norm: str) -> nn.Conv2d:
    """A conv with 'same' padding for odd kernels (1×1 → valid, 3×3 → same), as in the notes."""
    return nn.Conv2d(
        in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=conv_bias(norm)
    )


def main_path(
    name: str, in_ch: int, filters: list[int], kernel: int, strides: tuple[int, int], norm: str
) -> nn.Sequential:
    """notes: 1×1 F1 → BN → ReLU → f×f F2 same → BN → ReLU → 1×1 F3 → BN (Keras 'branch2').

    `strides` = (stride of the first 1×1, stride of the f×f conv).
    """
    f1, f2, f3 = filters
    stride_a, stride_b = strides
    layers = OrderedDict(
        [
            (f"res{name}_branch2a", conv(in_ch, f1, 1, stride_a, norm)),
            (f"bn{name}_branch2a", norm_layer(norm, f1)),
            (f"relu{name}_branch2a", nn.ReLU(inplace=True)),
            (f"res{name}_branch2b", conv(f1, f2, kernel, stride_b, norm)),
            (f"bn{name}_branch2b", norm_layer(norm, f2)),
            (f"relu{name}_branch2b", nn.ReLU(inplace=True)),
            (f"res{name}_branch2c", conv(f2, f3, 1, 1, norm)),
            (f"bn{name}_branch2c", norm_layer(norm, f3)),
        ]
    )
    return nn.Sequential(layers)


class IdentityBlock(nn.Module):
    """notes: identity block — input and output have the same shape, the shortcut is x itself."""

    def __init__(self, name: str, filters: list[int], kernel: int = 3, norm: str = "batchnorm"):
        super().__init__()
        channels = filters[-1]
        self.main_path = main_path(name, channels, filters, kernel, (1, 1), norm)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # notes: identity block — add the input before the last ReLU
        return self.relu(self.main_path(x) + x)


class ConvBlock(nn.Module):
    """notes: conv block — used when the shape changes; the shortcut is a 1×1 conv + BN."""

    def __init__(
        self,
        name: str,
        in_ch: int,
        filters: list[int],
        stride: int,
        kernel: int = 3,
        norm: str = "batchnorm",
        variant: str = "notes",
    ):
        super().__init__()
        # notes: stride s on the FIRST 1×1 conv; torchvision v1.5 puts it on the 3×3 instead
        strides = (stride, 1) if variant == "notes" else (1, stride)
        self.main_path = main_path(name, in_ch, filters, kernel, strides, norm)
        # notes: conv block shortcut — 1×1 F3 conv with stride s, then BN (Keras 'branch1')
        self.shortcut = nn.Sequential(
            OrderedDict(
                [
                    (f"res{name}_branch1", conv(in_ch, filters[-1], 1, stride, norm)),
                    (f"bn{name}_branch1", norm_layer(norm, filters[-1])),
                ]
            )
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # notes: conv block — add the projected input before the last ReLU
        return self.relu(self.main_path(x) + self.shortcut(x))


def make_stage(
    stage: int, in_ch: int, norm: str, variant: str, identity_filters: list[int] | None = None
) -> nn.Sequential:
    """notes: one conv block (letter a) followed by identity blocks (letters b, c, ...)."""
    filters, stride, identities = STAGES[stage]
    blocks = [ConvBlock(f"{stage}a", in_ch, filters, stride, norm=norm, variant=variant)]
    for letter in BLOCK_LETTERS[1 : identities + 1]:
        blocks.append(IdentityBlock(f"{stage}{letter}", identity_filters or filters, norm=norm))
    return nn.Sequential(*blocks)


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------


class ResNet50(nn.Module):
    """Zero-pad 3 → conv1 7×7/2 → BN → ReLU → max-pool 3×3/2 → stages 2–5 → avg pool → fc.

    forward returns logits: the notes' final softmax lives in the cross-entropy loss.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 1000,
        pool: str = "global",
        variant: str = "notes",
        norm: str = "batchnorm",
        zero_init_residual: bool = False,
        init: str = "kaiming",
        init_seed: int | None = None,
        stage5_identity_filters: list[int] | None = None,
    ):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}: choose one of {', '.join(INITS)}")
        if pool not in POOLS:
            raise ValueError(f"unknown pool {pool!r}: choose one of {', '.join(POOLS)}")
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
        self.in_channels = in_channels
        self.pool = pool
        self.variant = variant
        self.norm = norm
        self.zero_init_residual = zero_init_residual
        self.init, self.init_seed = init, init_seed

        # notes: stage 1 — ZeroPadding2D(3), then conv1 7×7/2 with 64 filters (valid padding);
        # torchvision pads inside the conv instead (padding=3), which is the same thing
        if variant == "notes":
            self.zero_pad = nn.ZeroPad2d(3)
            conv1_padding = 0
        else:
            self.zero_pad = nn.Identity()
            conv1_padding = 3
        self.conv1 = nn.Conv2d(
            in_channels, 64, 7, stride=2, padding=conv1_padding, bias=conv_bias(norm)
        )
        self.bn_conv1 = norm_layer(norm, 64)
        self.relu = nn.ReLU(inplace=True)
        # notes: max-pool 3×3 stride 2, unpadded (torchvision pads it by 1)
        max_pool_padding = 0 if variant == "notes" else 1
        self.max_pool = nn.MaxPool2d(3, stride=2, padding=max_pool_padding)

        # notes: stages 2–5, each a conv block followed by identity blocks
        self.stage2 = make_stage(2, 64, norm, variant)
        self.stage3 = make_stage(3, 256, norm, variant)
        self.stage4 = make_stage(4, 512, norm, variant)
        identity_filters = list(stage5_identity_filters) if stage5_identity_filters else None
        self.stage5 = make_stage(5, 1024, norm, variant, identity_filters)

        # notes: AveragePooling2D((2, 2), name="avg_pool") — the 2×2 stage-5 map of a 64×64 input
        self.avg_pool = nn.AdaptiveAvgPool2d(1) if pool == "global" else nn.AvgPool2d(2)
        # notes: flatten, then a dense layer to the classes (softmax is in the loss)
        self.fc = nn.Linear(2048, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming normal (fan_out, ReLU) for convs, as torchvision; or `init="glorot_uniform"`
        for convs and fc, as the course's Keras code builds every layer
        (`kernel_initializer=glorot_uniform(seed=0)`), drawn from `init_seed`. BN weight 1 and
        bias 0, conv biases 0."""
        generator = (
            torch.Generator().manual_seed(self.init_seed) if self.init_seed is not None else None
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear) and self.init == "glorot_uniform":
                nn.init.xavier_uniform_(module.weight, generator=generator)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(
                    module.weight, mode="fan_out", nonlinearity="relu", generator=generator
                )
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if self.zero_init_residual:
            # each residual branch starts as zero, so every block starts as the identity: the
            # 16 blocks do not amplify the signal at step 0 (Goyal et al. 2017; torchvision's
            # option of the same name). Without it SGD at lr 0.05 diverges on the digits.
            for name, module in self.named_modules():
                if name.endswith("_branch2c") and isinstance(module, nn.BatchNorm2d):
                    nn.init.zeros_(module.weight)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Input → the stage-5 feature map (2048 channels)."""
        x = self.max_pool(self.relu(self.bn_conv1(self.conv1(self.zero_pad(x)))))
        x = self.stage2(x)
        x = self.stage3(x)
        x = self.stage4(x)
        return self.stage5(x)

    @property
    def embed_dim(self) -> int:
        """Width of `embed`'s output (2048), known without a forward pass."""
        return self.fc.in_features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 2048): the pooled stage-5 vector that `fc` reads — the penultimate features."""
        return torch.flatten(self.avg_pool(self.features(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))  # logits: softmax lives in the cross-entropy loss

    def check_input_shape(self, image_shape: tuple[int, int, int]) -> None:
        """Raise ValueError (one line) if a C×H×W image cannot go through this net."""
        channels, height, width = image_shape
        shown = format_shape(image_shape)
        if channels != self.in_channels:
            raise ValueError(
                f"model expects {self.in_channels}×H×W images (in_channels={self.in_channels}); "
                f"data gives {shown}: set model.net.in_channels={channels}"
            )
        map_h = stage5_size(height, self.variant)
        map_w = stage5_size(width, self.variant)
        if map_h < 1 or map_w < 1:
            raise ValueError(
                f"input {shown} is too small for ResNet50 (variant={self.variant}): "
                f"the stage-5 map would be {map_h}×{map_w}; use a larger data.image_size"
            )
        # notes: AvgPool 2×2 must turn the stage-5 map into 1×1 so that fc gets 2048 features
        if self.pool == "avg2x2" and not (map_h in (2, 3) and map_w in (2, 3)):
            raise ValueError(
                "pool=avg2x2 needs a 64×64 input (stage-5 map 2×2, as in the notes); "
                f"data gives {shown} (stage-5 map {map_h}×{map_w}): "
                "use model.net.pool=global or data.image_size=64"
            )


# ---------------------------------------------------------------------------------------------
# Loading torchvision's resnet50 weights
# ---------------------------------------------------------------------------------------------


def torchvision_key_to_ours(key: str) -> str:
    """'layer1.0.conv1.weight' → 'stage2.0.main_path.res2a_branch2a.weight', and so on."""
    first, *rest = key.split(".")
    if first in ("conv1", "fc"):
        return key
    if first == "bn1":
        return ".".join(["bn_conv1", *rest])
    # torchvision's layer1..layer4 are the notes' stages 2..5
    stage = int(first.removeprefix("layer")) + 1
    index, layer, *param = rest
    name = f"{stage}{BLOCK_LETTERS[int(index)]}"
    if layer == "downsample":  # downsample.0 = shortcut conv, downsample.1 = shortcut BN
        position, *param = param
        prefix = "res" if position == "0" else "bn"
        path = f"shortcut.{prefix}{name}_branch1"
    else:  # conv1/bn1, conv2/bn2, conv3/bn3 = branch2a, branch2b, branch2c
        prefix = "res" if layer.startswith("conv") else "bn"
        branch = "abc"[int(layer[-1]) - 1]
        path = f"main_path.{prefix}{name}_branch2{branch}"
    return ".".join([f"stage{stage}", index, path, *param])


def load_torchvision_state_dict(model: ResNet50, state_dict: dict) -> None:
    """Load a torchvision `resnet50` state dict into a variant="torchvision" ResNet50 (strict)."""
    if model.variant != "torchvision":
        raise ValueError(
            f"torchvision weights need variant='torchvision' (stride on the 3×3 conv); "
            f"this model has variant={model.variant!r}"
        )
    if model.norm != "batchnorm":
        raise ValueError(f"torchvision weights need norm='batchnorm'; this model has {model.norm}")
    renamed = {torchvision_key_to_ours(key): value for key, value in state_dict.items()}
    model.load_state_dict(renamed, strict=True)
