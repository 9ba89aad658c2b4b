"""channels_last (NHWC) for nets and batches, without the layouts that only look like it.

A 4-D tensor with a dimension of size 1 among C, H, W (a 1×1 conv's weight, a conv over
1-channel images, a batch of gray images) has the same memory order in NCHW and NHWC, so
`is_contiguous(memory_format=torch.channels_last)` is true for both sets of strides and torch
keeps whichever it has. Two things follow on a GPU:

- a 1-channel batch keeps its NCHW strides after `.contiguous(memory_format=channels_last)`,
  and cuDNN's backward then works in NCHW for the first convolution, converting that layer's
  output gradient from NHWC first;
- the gradient of such a weight comes back with the other set of strides (cuDNN picks the
  layout from the activations, not the weight), and DDP, which compares strides exactly,
  warns "Grad strides do not match bucket view strides" although the bytes are in the same
  order.

`channels_last_batch` gives batches the strides of a real NHWC tensor, and `to_channels_last`
gives every such gradient its parameter's strides as soon as it is accumulated (a view, no
copy), before DDP looks at it.
"""

import torch
from torch import nn


def nhwc_strides(shape: torch.Size) -> tuple[int, ...]:
    """The strides torch gives a new channels_last tensor of `shape` (N, C, H, W)."""
    _, channels, height, width = shape
    return (height * width * channels, 1, width * channels, channels)


def channels_last_batch(images: torch.Tensor) -> torch.Tensor:
    """`images` (N, C, H, W) as a channels_last tensor with NHWC strides (no copy when the
    memory order is already NHWC, as for 1-channel batches)."""
    if images.dim() != 4:
        return images
    images = images.contiguous(memory_format=torch.channels_last)
    strides = nhwc_strides(images.shape)
    if images.stride() == strides:
        return images
    return images.as_strided(images.shape, strides, images.storage_offset())


def _same_order_in_both(tensor: torch.Tensor) -> bool:
    """Whether both NCHW and NHWC strides describe `tensor` (a size-1 dim among C, H, W)."""
    return (
        tensor.dim() == 4
        and tensor.is_contiguous()
        and tensor.is_contiguous(memory_format=torch.channels_last)
    )


def _grad_as_parameter(parameter: torch.Tensor) -> None:
    """Give `parameter.grad` the parameter's strides. Autograd keeps a new gradient as it comes
    when its strides differ only on size-1 dimensions (any other difference it copies away), so
    this is always a view of the same memory."""
    grad = parameter.grad
    if grad is not None and grad.stride() != parameter.stride():
        parameter.grad = grad.as_strided(parameter.shape, parameter.stride(), grad.storage_offset())


def to_channels_last(module: nn.Module) -> nn.Module:
    """`module` in channels_last; the weights whose memory order is the same in both layouts get
    their gradients in their own strides (what DDP's buckets expect)."""
    module = module.to(memory_format=torch.channels_last)
    for parameter in module.parameters():
        if parameter.requires_grad and _same_order_in_both(parameter):
            parameter.register_post_accumulate_grad_hook(_grad_as_parameter)
    return module
