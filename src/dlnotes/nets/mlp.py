"""A fully connected classifier: flatten → [linear → norm → activation] per hidden layer →
linear to the class scores.

It carries the notes' argument for BN's fourth step: with a sigmoid, normalising alone puts
every pre-activation near N(0, 1), where the sigmoid is almost a straight line ("Sigmoid激活函数，
在-1~1之间的梯度变化不大，那么非线性变换的作用就不能很好的体现"); the learned scale γ and shift β
let the net move them back into the curved part. `norm=normalize_only` is BN without γ and β.
"""

import math

import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
NORMS_1D = ("batchnorm", "normalize_only", "none")


def norm_1d(kind: str, features: int) -> nn.Module:
    """BN over the features of a linear layer (before its activation, as the notes place it)."""
    if kind == "batchnorm":
        return nn.BatchNorm1d(features)
    if kind == "normalize_only":  # notes: steps 1–3 (mean, variance, normalise), no step 4
        return nn.BatchNorm1d(features, affine=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"model.net.norm={kind!r}: choose one of {', '.join(NORMS_1D)}")


class MLPClassifier(nn.Module):
    def __init__(
        self,
        image_shape: list[int],
        num_classes: int,
        hidden: list[int] = (256, 256, 256),
        activation: str = "sigmoid",
        norm: str = "batchnorm",
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"model.net.activation={activation!r}: choose one of {', '.join(ACTIVATIONS)}"
            )
        self.image_shape = tuple(image_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(self.image_shape)
        for features in hidden:
            layers += [
                nn.Linear(width, features, bias=norm == "none"),  # BN's shift replaces a bias
                norm_1d(norm, features),
                ACTIVATIONS[activation](),
            ]
            width = features
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)

    def check_input_shape(self, image_shape: tuple[int, int, int]) -> None:
        if tuple(image_shape) != self.image_shape:
            shown = "×".join(map(str, image_shape))
            raise ValueError(
                f"the MLP was built for {'×'.join(map(str, self.image_shape))} images, the "
                f"data gives {shown}: set model.net.image_shape to the data's (its default)"
            )
