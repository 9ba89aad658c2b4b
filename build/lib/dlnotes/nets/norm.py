"""Normalization choice shared by the nets: `norm=batchnorm` (torch's), `norm=notes_bn` (the
notes' four steps, same state dict), `norm=normalize_only` (steps 1–3 without γ and β) or
`norm=none`."""

from torch import nn

from dlnotes.nets.batchnorm import NotesBatchNorm

NORMS = ("batchnorm", "notes_bn", "normalize_only", "none")


def norm_layer(kind: str, num_features: int) -> nn.Module:
    """The 2-D normalization layer named by `kind`, placed after a conv and before its ReLU."""
    if kind == "batchnorm":
        return nn.BatchNorm2d(num_features)
    if kind == "notes_bn":
        return NotesBatchNorm(num_features)
    if kind == "normalize_only":
        # notes, step 4 left out: no learned scale γ and shift β after normalizing
        return nn.BatchNorm2d(num_features, affine=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}: choose one of {', '.join(NORMS)}")


def conv_bias(kind: str) -> bool:
    """A conv followed by BN needs no bias (BN's shift β replaces it); without BN it keeps one."""
    return kind == "none"
