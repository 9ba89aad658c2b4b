"""R-CNN's bounding-box regression targets (Girshick et al. 2014, appendix C).

notes: "对于属于某一特征的候选框，用回归器进一步调整其位置" (a regressor further adjusts the
position of each proposal of a class); the notebook gives no formula. The paper's: a proposal
P (center px, py, size pw, ph) is moved towards its ground truth G by
tx = (gx − px)/pw, ty = (gy − py)/ph, tw = log(gw/pw), th = log(gh/ph): the shift is relative to
the proposal's size and the scale is a log ratio, so the targets do not depend on the box size.
Fast R-CNN and torchvision multiply them by weights (10, 10, 5, 5) so that they have roughly
unit variance; `decode` divides them out again.
"""

import math

import torch

Weights = tuple[float, float, float, float]
UNIT_WEIGHTS: Weights = (1.0, 1.0, 1.0, 1.0)  # the R-CNN paper's targets as written
FAST_RCNN_WEIGHTS: Weights = (10.0, 10.0, 5.0, 5.0)  # torchvision's RoIHeads default
# the largest log-scale decode applies: a box may grow at most 1000/16 times (torchvision's clamp)
SCALE_CLAMP = math.log(1000.0 / 16)


def centers_sizes(boxes: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(..., 4) xyxy → (cx, cy, w, h), each (...)."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    w, h = x2 - x1, y2 - y1
    return x1 + 0.5 * w, y1 + 0.5 * h, w, h


def encode(
    proposals: torch.Tensor, gt: torch.Tensor, weights: Weights = UNIT_WEIGHTS
) -> torch.Tensor:
    """(P, 4) proposals and their matched (P, 4) ground truths, xyxy → (P, 4) deltas."""
    px, py, pw, ph = centers_sizes(proposals)
    gx, gy, gw, gh = centers_sizes(gt)
    wx, wy, ww, wh = weights
    # R-CNN paper, appendix C: tx = (gx − px)/pw, ty = (gy − py)/ph,
    # tw = log(gw/pw), th = log(gh/ph)
    tx = wx * (gx - px) / pw
    ty = wy * (gy - py) / ph
    tw = ww * torch.log(gw / pw)
    th = wh * torch.log(gh / ph)
    return torch.stack([tx, ty, tw, th], dim=-1)


def decode(
    deltas: torch.Tensor,
    proposals: torch.Tensor,
    weights: Weights = UNIT_WEIGHTS,
    scale_clamp: float = SCALE_CLAMP,
) -> torch.Tensor:
    """Inverse of `encode`: (..., 4) deltas applied to (..., 4) proposals → (..., 4) xyxy boxes.

    The shapes broadcast, so class-specific deltas (P, C, 4) decode against proposals[:, None].
    """
    px, py, pw, ph = centers_sizes(proposals)
    wx, wy, ww, wh = weights
    tx, ty, tw, th = deltas.unbind(-1)
    tw = (tw / ww).clamp(max=scale_clamp)  # exp of a huge tw would overflow
    th = (th / wh).clamp(max=scale_clamp)
    # R-CNN paper, appendix C: ĝx = pw·tx + px, ĝy = ph·ty + py, ĝw = pw·exp(tw), ĝh = ph·exp(th)
    cx = pw * tx / wx + px
    cy = ph * ty / wy + py
    w = pw * torch.exp(tw)
    h = ph * torch.exp(th)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)
