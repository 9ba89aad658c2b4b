"""Model inspection: per-layer shapes, parameters and FLOPs from PyTorch's FLOP counter, the
notes' 1×1 convolution savings, and the same table at the start of training."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from dlnotes.inspect import inspect
from dlnotes.nets.conv1x1 import bottleneck_vs_plain, notes_example
from dlnotes.nets.inspection import compare, inspect_module
from dlnotes.nets.nin import NIN
from dlnotes.run.data_shape import data_shape
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.data import write_image_folder
from helpers.paths import ROOT


def test_a_convolution_counts_two_flops_per_multiply_add():
    conv = nn.Conv2d(3, 8, 5, padding=2)
    (row, total) = inspect_module(nn.Sequential(conv), torch.zeros(1, 3, 16, 16), depth=1)
    assert row.output_shape == "8×16×16" == total.output_shape
    assert row.params == 3 * 8 * 25 + 8 == total.params
    assert row.flops == 2 * 3 * 8 * 25 * 16 * 16 == total.flops


def test_nin_rows_add_up_to_the_total():
    net = NIN(in_channels=1, num_classes=10)
    rows = inspect_module(net, torch.zeros(1, 1, 28, 28), depth=1)
    total = rows[-1]
    assert total.params == sum(p.numel() for p in net.parameters())
    assert sum(r.params for r in rows[:-1]) == total.params
    assert sum(r.flops for r in rows[:-1]) == total.flops > 0
    assert rows[0].output_shape == "10×7×7" and total.output_shape == "10"
    assert net.training  # inspected in eval mode, handed back as it was


def test_notes_1x1_example_reduces_500x500x100_to_20_maps():
    one, three, five = compare(*notes_example())
    assert one.output_shape == "20×500×500"  # notes: 500 * 500 * 20
    assert one.params == 100 * 20 + 20
    assert one.flops == 2 * 100 * 20 * 500 * 500
    assert three.flops == 9 * one.flops and five.flops == 25 * one.flops


@pytest.mark.parametrize("stage", [2, 3, 4, 5])
def test_resnet_bottleneck_against_a_plain_block_of_the_same_width(stage):
    bottleneck, plain = compare(*bottleneck_vs_plain(stage))
    width = {2: 256, 3: 512, 4: 1024, 5: 2048}[stage]
    side = {2: 56, 3: 28, 4: 14, 5: 7}[stage]
    reduced = width // 4
    convs = width * reduced + 9 * reduced * reduced + reduced * width  # 1×1, 3×3, 1×1
    assert bottleneck.flops == 2 * convs * side * side
    assert plain.flops == 2 * (2 * 9 * width * width) * side * side
    assert plain.params / bottleneck.params > 16  # the 1×1 reduction's saving
    assert bottleneck.output_shape == plain.output_shape == f"{width}×{side}×{side}"


def test_inspect_entry_writes_the_table_for_a_gan_and_for_conv1x1(tmp_path):
    text = inspect(compose_config(["model=gan"], tmp_path, config_name="inspect"))
    assert "generator" in text and "discriminator" in text and "total" in text
    assert (tmp_path / "inspection.txt").read_text() == text
    text = inspect(compose_config(["model=vae"], tmp_path, config_name="inspect"))
    assert "encoder" in text and "decoder" in text and "val_recon" not in text  # layers only
    text = inspect(compose_config(["compare=conv1x1"], tmp_path, config_name="inspect"))
    assert "1×1 conv, 20 filters" in text and "stage 5 plain 3×3-3×3" in text
    assert (tmp_path / "conv1x1.png").stat().st_size > 1000


def test_inspect_from_the_command_line(tmp_path):
    command = [
        sys.executable,
        "-m",
        "dlnotes.inspect",
        "model=resnet50",
        f"paths.log_dir={tmp_path}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ResNet50" in result.stdout and "total" in result.stdout
    assert list(tmp_path.glob("inspect/runs/*/inspection.txt"))


def test_inspecting_needs_no_data_when_the_data_config_states_the_shape(offline, tmp_path):
    """data=cifar10 states 3×32×32 and 10 classes: nothing is read or downloaded."""
    overrides = ["model=resnet50", "data=cifar10", f"paths.data_dir={tmp_path / 'data'}"]
    text = inspect(compose_config(overrides, tmp_path, config_name="inspect"))
    assert "ResNet50" in text and "23,528,522" in text  # 3 input channels, 10 classes
    assert offline == [] and not (tmp_path / "data").exists()


def test_the_data_is_read_only_where_its_config_does_not_state_the_shape(tmp_path):
    root = write_image_folder(tmp_path / "images", classes=3)
    cfg = compose_config(["data=image_folder", f"data.root={root}"], tmp_path, "inspect")
    assert cfg.data.num_classes is None  # the class folders say how many
    assert data_shape(cfg) == ((3, 32, 32), 3)
    assert cfg.data.num_classes == 3  # filled in, as training does


def test_training_logs_the_inspection_at_start(tmp_path):
    overrides = [o for o in fast_overrides("debug=fdr") if "model_summary" not in o]
    train(compose_config(overrides, tmp_path))
    text = (tmp_path / "model_inspection.txt").read_text()
    assert "NIN" in text and "FLOPs" in text and "958,804" in text


def test_nin_fully_connected_head_has_more_parameters_than_global_pooling():
    gap, fc = NIN(1, 10, head="gap"), NIN(1, 10, head="fc", image_size=28)
    images = torch.zeros(2, 1, 28, 28)
    assert gap(images).shape == fc(images).shape == (2, 10)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    # fc: linear 192·7·7 → 192 → 10 (with biases) instead of two 1×1 convs 192 → 192 → 10
    # (no bias: each has a BN with γ and β) and a global mean
    fully_connected = (192 * 7 * 7 + 1) * 192 + (192 + 1) * 10
    one_by_one = 192 * 192 + 2 * 192 + 192 * 10 + 2 * 10
    assert count(fc) - count(gap) == fully_connected - one_by_one
