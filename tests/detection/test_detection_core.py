"""The shared detection core: box coding, RoI pooling, sampling, post-processing, R-CNN and
Fast R-CNN on tiny hand-made scenes, and selective-search proposals."""

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou, roi_pool

from dlnotes.claims.detection_speed import fixed_count
from dlnotes.detection import proposals as proposals_module
from dlnotes.detection.box_coding import FAST_RCNN_WEIGHTS, UNIT_WEIGHTS, decode, encode
from dlnotes.detection.fast_rcnn import FastRCNN, build_fast_rcnn, make_backbone
from dlnotes.detection.heads import (
    DetectionHead,
    assign_labels,
    losses,
    postprocess,
    sample_proposals,
)
from dlnotes.detection.proposals import ProposalCache, selective_search
from dlnotes.detection.rcnn import RCNN, conv_stack

NUM_CLASSES = 11  # background + 10 digits, as the digit scenes


def random_boxes(n: int, generator: torch.Generator, side: float = 64.0) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=generator) * side * 0.8
    wh = 1 + torch.rand(n, 2, generator=generator) * side * 0.5
    return torch.cat([xy, xy + wh], dim=1)


@pytest.mark.parametrize("weights", [UNIT_WEIGHTS, FAST_RCNN_WEIGHTS])
def test_encode_decode_round_trip(weights):
    generator = torch.Generator().manual_seed(0)
    proposals, gt = random_boxes(500, generator), random_boxes(500, generator)
    deltas = encode(proposals, gt, weights)
    torch.testing.assert_close(decode(deltas, proposals, weights), gt, rtol=0, atol=1e-5)
    # and the R-CNN formulas themselves on one box: P centered (5, 5) 10×10, G centered (7, 4)
    # 20×5 → tx = 0.2, ty = −0.1, tw = log 2, th = log 0.5
    deltas = encode(torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([[-3.0, 1.5, 17, 6.5]]))
    expected = torch.tensor(
        [[0.2, -0.1, torch.log(torch.tensor(2.0)), torch.log(torch.tensor(0.5))]]
    )
    torch.testing.assert_close(deltas, expected)


def test_decode_of_zero_deltas_is_identity_and_class_specific_broadcast():
    proposals = random_boxes(20, torch.Generator().manual_seed(1))
    boxes = decode(torch.zeros(20, NUM_CLASSES, 4), proposals[:, None], FAST_RCNN_WEIGHTS)
    assert boxes.shape == (20, NUM_CLASSES, 4)
    torch.testing.assert_close(boxes, proposals[:, None].expand_as(boxes))
    huge = decode(torch.tensor([[0.0, 0, 1e4, 1e4]]), torch.tensor([[0.0, 0, 1, 1]]))
    assert torch.isfinite(huge).all()  # the log-scale clamp keeps exp finite


@pytest.mark.parametrize("box, output", [((2, 4, 9, 11), 4), ((1, 3, 7, 9), 3)])
def test_roi_pool_equals_max_pool_of_the_cropped_feature_map(box, output):
    feature_map = torch.randn(1, 5, 16, 16, generator=torch.Generator().manual_seed(2))
    x1, y1, x2, y2 = box
    crop = feature_map[:, :, y1 : y2 + 1, x1 : x2 + 1]  # roi_pool's box includes x2, y2
    expected = F.adaptive_max_pool2d(crop, output)
    # notes: a proposal in image pixels maps onto a stride-8 feature map by × 1/8
    stride = 8
    rois = torch.tensor([[0.0, x1 * stride, y1 * stride, x2 * stride, y2 * stride]])
    pooled = roi_pool(feature_map, rois, output, spatial_scale=1.0 / stride)
    torch.testing.assert_close(pooled, expected)


def test_sample_proposals_assigns_labels_by_iou():
    gt_boxes, gt_labels = torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([3])
    proposals = torch.tensor(
        [
            [0.0, 0, 10, 10],  # IoU 1 → class 3
            [0.0, 0, 10, 8],  # IoU 0.8 → class 3
            [5.0, 0, 15, 10],  # IoU 1/3 → background
            [0.0, 0, 10, 4],  # IoU 0.4 → background
            [9.0, 9, 20, 20],  # IoU 0.005 < 0.1 → ignored
        ]
    )
    labels, matched = assign_labels(proposals, gt_boxes, gt_labels)
    assert labels.tolist() == [3, 3, 0, 0, -1]
    assert matched.tolist() == [0] * 5

    sampled, labels, targets = sample_proposals(proposals, gt_boxes, gt_labels)
    assert sorted(labels.tolist()) == [0, 0, 3, 3]
    assert len(sampled) == 4 and not (sampled == proposals[4]).all(dim=1).any()
    torch.testing.assert_close(targets[(sampled == gt_boxes).all(dim=1)], torch.zeros(1, 4))

    # a 4-RoI batch with 25% foreground holds one foreground RoI and fills up with background
    generator = torch.Generator().manual_seed(0)
    _, labels, _ = sample_proposals(
        proposals, gt_boxes, gt_labels, batch_size_per_image=4, generator=generator
    )
    assert sorted(labels.tolist()) == [0, 0, 3]

    # no ground truth at all: everything is background, nothing is dropped
    _, labels, targets = sample_proposals(proposals, torch.zeros(0, 4), torch.zeros(0, dtype=int))
    assert labels.tolist() == [0] * 5 and (targets == 0).all()


def test_losses_regress_only_the_true_class_of_foreground_rois():
    labels = torch.tensor([2, 0])
    targets = torch.tensor([[1.0, 0, 0, 0], [5.0, 5, 5, 5]])
    logits = torch.zeros(2, 3)
    deltas = torch.zeros(2, 3, 4)
    deltas[0, 2] = targets[0]  # the foreground RoI's class-2 deltas are exact
    deltas[1] = 100.0  # the background RoI's deltas are never regressed
    loss_classifier, loss_box_reg = losses(logits, deltas.flatten(1), labels, targets)
    torch.testing.assert_close(loss_classifier, torch.log(torch.tensor(3.0)))
    assert loss_box_reg.item() == 0.0


def test_postprocess_keeps_the_best_box_after_nms():
    proposals = torch.tensor([[10.0, 10, 30, 30], [11.0, 11, 31, 31], [40.0, 40, 60, 60]])
    probs = torch.tensor([[0.05, 0.9, 0.05], [0.1, 0.7, 0.2], [0.1, 0.1, 0.8]])
    (result,) = postprocess(
        probs.log(), torch.zeros(3, 12), proposals, (64, 64), score_thresh=0.3, nms_thresh=0.5
    )
    assert set(result) == {"boxes", "labels", "scores"}
    # the weaker class-1 box overlapping the first one (IoU 0.82) is suppressed
    torch.testing.assert_close(result["boxes"], proposals[[0, 2]])
    assert result["labels"].tolist() == [1, 2]
    torch.testing.assert_close(result["scores"], torch.tensor([0.9, 0.8]))


def test_postprocess_clips_to_the_image_and_splits_per_image():
    proposals = [torch.tensor([[50.0, 50, 70, 70]]), torch.tensor([[0.0, 0, 8, 8]])]
    logits = torch.tensor([[0.0, 5.0], [0.0, 5.0]])
    results = postprocess(logits, torch.zeros(2, 8), proposals, (60, 64))
    assert len(results) == 2
    torch.testing.assert_close(results[0]["boxes"], torch.tensor([[50.0, 50, 64, 60]]))
    torch.testing.assert_close(results[1]["boxes"], proposals[1])


# ---------------------------------------------------------------------------------------------
# The detectors on two 64×64 scenes with fixed proposals
# ---------------------------------------------------------------------------------------------


def tiny_scenes():
    """Two 1×64×64 images with bright squares where the targets are, and their targets."""
    targets = [
        {
            "boxes": torch.tensor([[4.0, 6, 24, 26], [36.0, 30, 60, 58]]),
            "labels": torch.tensor([3, 7]),
        },
        {"boxes": torch.tensor([[20.0, 20, 44, 40]]), "labels": torch.tensor([10])},
    ]
    images = torch.zeros(2, 1, 64, 64)
    for image, target in zip(images, targets, strict=True):
        for x1, y1, x2, y2 in target["boxes"].int().tolist():
            image[:, y1:y2, x1:x2] = 1.0
    return images, targets


def fixed_proposals(images):
    """A grid of 16×16 and 32×32 boxes, the same for every image (no selective search)."""
    boxes = [[x, y, x + s, y + s] for s in (16, 32) for x in range(0, 64 - s + 1, 8)
             for y in range(0, 64 - s + 1, 8)]  # fmt: skip
    return [torch.tensor(boxes, dtype=torch.float32) for _ in images]


def make_rcnn():
    cnn = conv_stack(1, (8, 16))
    return RCNN(cnn, NUM_CLASSES, fixed_proposals, in_channels=1, warp_size=16, hidden=32)


def make_fast_rcnn(backbone="resnet50"):
    net, channels, stride = make_backbone(backbone, in_channels=1)
    return FastRCNN(net, channels, stride, NUM_CLASSES, fixed_proposals, pool_size=2, hidden=32)


@pytest.mark.parametrize("make", [make_rcnn, make_fast_rcnn], ids=["rcnn", "fast_rcnn"])
def test_detector_train_losses_and_eval_detections(make):
    torch.manual_seed(0)
    images, targets = tiny_scenes()
    model = make()
    model.train()
    loss_dict = model(images, targets)
    assert set(loss_dict) == {"loss_classifier", "loss_box_reg"}
    assert all(torch.isfinite(loss) for loss in loss_dict.values())
    sum(loss_dict.values()).backward()
    assert model.head.cls_score.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        detections = model(images)
    assert isinstance(detections, list) and len(detections) == 2
    for result in detections:
        assert set(result) == {"boxes", "labels", "scores"}
        assert result["boxes"].shape[1:] == (4,) and len(result["boxes"]) <= 100
        assert len(result["labels"]) == len(result["scores"]) == len(result["boxes"])
        assert ((result["labels"] >= 1) & (result["labels"] < NUM_CLASSES)).all()
    # proposals may also be passed directly, overriding the proposal function
    with torch.no_grad():
        single = model(images, proposals=[torch.tensor([[4.0, 6, 24, 26]])] * 2)
    assert all(len(result["boxes"]) <= NUM_CLASSES - 1 for result in single)


@pytest.mark.parametrize("pool", ["roi_pool", "roi_align"])
def test_fast_rcnn_trains_under_bf16_autocast_on_the_cpu(pool):
    """`trainer.precision=bf16-mixed`: torchvision's CPU roi_pool has no bfloat16 kernel."""
    net, channels, stride = make_backbone("nin", in_channels=1)
    model = FastRCNN(net, channels, stride, NUM_CLASSES, fixed_proposals, pool_size=2, pool=pool)
    images, targets = tiny_scenes()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        losses = model.train()(images, targets)
    assert all(torch.isfinite(loss) for loss in losses.values())


def test_rcnn_warps_each_proposal_from_the_image():
    images, _ = tiny_scenes()
    inside, background = torch.tensor([[6.0, 8, 22, 24]]), torch.tensor([[40.0, 0, 64, 16]])
    crops = make_rcnn().warp(images, [inside, background])
    assert crops.shape == (2, 1, 16, 16)
    torch.testing.assert_close(crops[0], torch.ones_like(crops[0]))  # in the bright square
    torch.testing.assert_close(crops[1], torch.zeros_like(crops[1]))  # on the black background


def test_fast_rcnn_reduces_the_shared_maps_with_a_1x1_conv_before_pooling():
    plain = build_fast_rcnn(NUM_CLASSES, backbone="nin", pool_size=2)
    reduced = build_fast_rcnn(NUM_CLASSES, backbone="nin", pool_size=2, reduced_channels=24)
    images, _ = tiny_scenes()
    boxes = [torch.tensor([[0.0, 0, 32, 32]])] * 2
    assert plain.box_features(images, boxes).shape == (2, 192, 2, 2)
    assert reduced.box_features(images, boxes).shape == (2, 24, 2, 2)
    assert reduced.head.fc[1].in_features == 24 * 2 * 2
    conv = reduced.backbone[1]
    assert conv.kernel_size == (1, 1) and (conv.in_channels, conv.out_channels) == (192, 24)


def test_detector_head_shapes():
    class_logits, box_deltas = DetectionHead(7, NUM_CLASSES, hidden=8)(torch.randn(5, 7))
    assert class_logits.shape == (5, NUM_CLASSES) and box_deltas.shape == (5, 4 * NUM_CLASSES)


# ---------------------------------------------------------------------------------------------
# Proposals
# ---------------------------------------------------------------------------------------------


def test_proposal_cache_searches_each_image_once(tmp_path, monkeypatch):
    calls = []

    def fake_search(image, **kwargs):
        calls.append(kwargs)
        return torch.tensor([[0.0, 0, float(image.sum() > 0), 1]])

    monkeypatch.setattr(proposals_module, "selective_search", fake_search)
    images, _ = tiny_scenes()
    cache = ProposalCache(directory=tmp_path, mode="fast")
    first = cache(images)
    again = cache(torch.cat([images, images[:1]]))
    assert len(calls) == 2 and calls[0] == {"mode": "fast"} and len(cache) == 2
    assert cache.hits == 3 and cache.misses == 2
    torch.testing.assert_close(again[2], first[0])
    # a new cache on the same directory reads the saved proposals instead of searching
    reloaded = ProposalCache(directory=tmp_path, mode="fast")(images)
    assert len(calls) == 2 and len(list(tmp_path.glob("*.pt"))) == 2
    torch.testing.assert_close(reloaded[1], first[1])


def test_selective_search_finds_a_square():
    image = torch.zeros(1, 64, 64, dtype=torch.uint8)
    image[:, 10:30, 20:50] = 255
    boxes = selective_search(image, max_proposals=50)
    assert boxes.dtype == torch.float32 and boxes.shape[1] == 4 and 0 < len(boxes) <= 50
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 64).all()
    assert (boxes[:, 2:] > boxes[:, :2]).all()
    assert box_iou(torch.tensor([[20.0, 10, 50, 30]]), boxes).max() >= 0.5
    # seeded: a float image in [0, 1] gives the same proposals; the cache returns them again
    torch.testing.assert_close(selective_search(image.float() / 255, max_proposals=50), boxes)
    cache = ProposalCache(max_proposals=50)
    torch.testing.assert_close(cache(image[None])[0], boxes)


def test_fast_rcnn_can_share_rcnn_s_cnn_for_a_like_for_like_comparison():
    """backbone=conv_stack: the very conv layers R-CNN runs on each warped crop (same shapes,
    in the same order), without its global pool, at stride 8."""
    fast = build_fast_rcnn(num_classes=11, in_channels=1, backbone="conv_stack")
    rcnn_convs = [m.weight.shape for m in conv_stack(1) if isinstance(m, torch.nn.Conv2d)]
    fast_convs = [m.weight.shape for m in fast.backbone if isinstance(m, torch.nn.Conv2d)]
    assert fast_convs == rcnn_convs
    assert fast.backbone(torch.zeros(1, 1, 64, 64)).shape == (1, 128, 8, 8)
    assert fast.stride == 8


def test_proposals_are_topped_up_with_random_boxes_to_exactly_n():
    searched = [torch.tensor([[1.0, 1, 20, 20], [5, 5, 30, 40]]), torch.zeros(0, 4)]
    for n in (1, 2, 50):
        boxes = fixed_count(searched, n, (1, 64, 64))
        assert [len(b) for b in boxes] == [n, n]
        torch.testing.assert_close(boxes[0][: min(n, 2)], searched[0][: min(n, 2)])
        every = torch.cat(boxes)
        assert (every[:, :2] >= 0).all() and (every[:, 2:] <= 64).all()
        assert (every[:, 2:] > every[:, :2]).all()
    torch.testing.assert_close(
        fixed_count(searched, 9, (64, 64)), fixed_count(searched, 9, (64, 64))
    )
