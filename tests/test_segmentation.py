"""`model=segmenter`: an FCN on digit scenes and on Pascal VOC's layout, trained through the
same `train()` the command line runs, with dataset-level mIoU and prediction pictures."""

import pytest
import torch
import torch.nn.functional as F
from test_data_voc import write_voc

from conftest import compose_config, fast_overrides
from dlnotes.nets.fcn import FCN
from dlnotes.tasks.segmentation import color_masks
from dlnotes.train import train

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


def test_loss_leaves_ignored_pixels_out():
    logits = torch.randn(1, 3, 2, 2)
    target = torch.tensor([[[0, 1], [255, 2]]])
    kept = F.cross_entropy(logits, target, ignore_index=255)
    changed = logits.clone()
    changed[0, :, 1, 0] += 100  # only at the ignored pixel
    assert torch.equal(F.cross_entropy(changed, target, ignore_index=255), kept)


def test_mask_colors_background_black_ignored_white():
    colors = color_masks(torch.tensor([[[0, 1], [255, 10]]]), num_classes=11, ignore_index=255)
    assert colors.shape == (1, 3, 2, 2)
    assert colors[0, :, 0, 0].tolist() == [0, 0, 0] and colors[0, :, 1, 0].tolist() == [1, 1, 1]
    assert colors[0, :, 0, 1].sum() > 0 and not torch.equal(colors[0, :, 0, 1], colors[0, :, 1, 1])
