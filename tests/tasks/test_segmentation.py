"""`model=segmenter`: an FCN on digit scenes and on Pascal VOC's layout, trained through the
same `train()` the command line runs, with dataset-level mIoU and prediction pictures."""

import pytest
import torch
import torch.nn.functional as F

from dlnotes.nets.fcn import FCN
from dlnotes.tasks.drawing import color_masks
from dlnotes.train import train
from helpers.compose import compose_config, composed_parts, fast_overrides
from helpers.training import one_training_step
from helpers.voc import write_voc

TINY_SCENES = [
    "model=segmenter",
    "data=digit_scenes",
    "data.train_size=64",
    "data.val_size=16",
    "data.test_size=16",
    "debug=limit",
]


@pytest.mark.parametrize("backbone", ["resnet50", "nin"])
@pytest.mark.parametrize("skip", [True, False])
def test_fcn_gives_per_pixel_logits_at_the_input_size(backbone, skip):
    net = FCN(in_channels=3, num_classes=21, backbone=backbone, skip=skip).eval()
    assert net(torch.zeros(2, 3, 48, 40)).shape == (2, 21, 48, 40)


def test_segmenter_trains_on_digit_scenes_and_logs_miou_per_class(tmp_path):
    monitored, objects = train(compose_config(fast_overrides(*TINY_SCENES, "logger=csv"), tmp_path))
    metrics = objects["metrics"]
    assert 0.0 <= monitored <= 1.0 and 0.0 <= metrics["test/miou"] <= 1.0
    assert {"test/iou/background", "test/iou/0", "test/iou/9"} <= set(metrics)
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0]
    assert "val/miou" in header and "test/iou/background" in header
    assert list((tmp_path / "images").glob("val_predictions_*.png"))


def test_segmenter_runs_on_a_voc_layout_folder(tmp_path):
    data_dir = tmp_path / "voc"
    write_voc(data_dir)
    overrides = fast_overrides(
        "model=segmenter",
        "data=voc_segmentation",
        f"data.data_dir={data_dir}",
        "data.crop_size=32",
        "data.num_workers=0",
        "data.batch_size=2",
        "debug=fdr",
    )
    _, objects = train(compose_config(overrides, tmp_path / "run"))
    assert "test/miou" in objects["metrics"]
    assert "test/iou/aeroplane" in objects["metrics"]  # VOC's own class names


def test_task_step_leaves_ignored_pixels_out_of_its_loss(tmp_path):
    """Through a real training step on scenes whose left halves are marked `ignore_index`:
    the loss is the mean cross-entropy over the other pixels only."""
    sizes = ["data.train_size=8", "data.val_size=4", "data.test_size=4", "data.batch_size=4"]
    datamodule, model = composed_parts(["model=segmenter", "data=digit_scenes", *sizes], tmp_path)
    images, masks = datamodule.splits["train"]
    masks[..., :32] = model.ignore_index
    logits = []
    model.net.register_forward_hook(lambda module, inputs, output: logits.append(output.detach()))
    _, step = one_training_step(model, datamodule, tmp_path)
    loss, (_, target) = float(step.outputs[0]["loss"]), step.batches[0]
    kept = target != model.ignore_index
    assert 0 < kept.sum() < target.numel()
    log_p = logits[0].float().log_softmax(1).permute(0, 2, 3, 1)[kept]  # (kept pixels, classes)
    hand = -log_p.gather(1, target[kept].long()[:, None]).mean().item()
    assert loss == pytest.approx(hand, rel=1e-5), f"loss {loss}, over the kept pixels {hand}"
    as_background = F.cross_entropy(logits[0].float(), target.long().where(kept, 0)).item()
    assert loss != pytest.approx(as_background, rel=1e-3)  # what counting them would give


def test_mask_colors_background_black_ignored_white():
    colors = color_masks(torch.tensor([[[0, 1], [255, 10]]]), num_classes=11, ignore_index=255)
    assert colors.shape == (1, 3, 2, 2)
    assert colors[0, :, 0, 0].tolist() == [0, 0, 0] and colors[0, :, 1, 0].tolist() == [1, 1, 1]
    assert colors[0, :, 0, 1].sum() > 0 and not torch.equal(colors[0, :, 0, 1], colors[0, :, 1, 1])
