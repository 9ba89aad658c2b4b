"""python -m dlnotes.export: the ONNX file of NIN and ResNet50 gives PyTorch's outputs under
onnxruntime (any batch size), TorchScript likewise, and preprocessing.json says how to feed it."""

import json

import onnxruntime
import pytest
import torch
from torch import nn

from dlnotes.checkpoints.load import load_checkpoint, model_from_checkpoint
from dlnotes.errors import ConfigError
from dlnotes.export import export, export_model
from helpers.compose import compose_config, composed_parts

TOLERANCE = 1e-4


def onnx_logits(path, images: torch.Tensor) -> torch.Tensor:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    return torch.from_numpy(session.run(["logits"], {"images": images.numpy()})[0])


def run_export(ckpt, out, fmt: str) -> dict:
    overrides = [f"ckpt_path={ckpt}", f"format={fmt}"]
    return export(compose_config(overrides, out, config_name="export"))


def test_onnx_export_of_a_trained_nin_matches_pytorch(trained_checkpoint, tmp_path):
    ckpt = trained_checkpoint("classifier")
    paths = run_export(ckpt, tmp_path, "onnx")
    net = model_from_checkpoint(ckpt).net
    images = torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = net(images)
    difference = (onnx_logits(paths["model"], images) - expected).abs().max()
    assert difference <= TOLERANCE
    described = json.loads(paths["preprocessing"].read_text())
    assert described["size"] == [16, 16] and described["channels"] == 1
    assert described["mean"] == [0.0] and described["std"] == [1.0]
    assert described["classes"] == [str(digit) for digit in range(10)]
    assert described["input"]["shape"] == ["batch", 1, 16, 16]
    assert described["check"]["max_abs_difference"] <= TOLERANCE


def test_onnx_export_of_resnet50_matches_pytorch(tmp_path):
    _, model = composed_parts(["model=resnet50", "data.image_size=32"], tmp_path)
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():  # BN statistics and scales away from identity
        if isinstance(module, nn.BatchNorm2d):
            module.weight.data = torch.rand(module.num_features, generator=generator) + 0.5
            module.running_mean = torch.randn(module.num_features, generator=generator) * 0.1
            module.running_var = torch.rand(module.num_features, generator=generator) + 0.5
    names = [str(digit) for digit in range(10)]
    paths = export_model(model, "resnet50", "onnx", (1, 32, 32), names, tmp_path)
    images = torch.rand(3, 1, 32, 32, generator=generator)
    with torch.no_grad():
        expected = model.net.eval()(images)
    assert (onnx_logits(paths["model"], images) - expected).abs().max() <= TOLERANCE
    assert expected.std() > 0.01  # the outputs differ between images: a real comparison


def test_torchscript_export_matches_pytorch(trained_checkpoint, tmp_path):
    ckpt = trained_checkpoint("classifier")
    paths = run_export(ckpt, tmp_path, "torchscript")
    images = torch.rand(4, 1, 16, 16)
    with torch.no_grad():
        expected = model_from_checkpoint(ckpt).net(images)
        got = torch.jit.load(str(paths["model"]))(images)
    assert paths["model"].name == "model.pt"
    assert (got - expected).abs().max() <= TOLERANCE


def test_a_detector_or_an_unknown_format_is_a_one_line_error(trained_checkpoint, tmp_path):
    ckpt = trained_checkpoint("classifier")
    with pytest.raises(ConfigError, match="format=tflite is not known"):
        run_export(ckpt, tmp_path, "tflite")
    checkpoint = load_checkpoint(ckpt)  # the saved model says which task it is
    checkpoint["dlnotes_config"]["model"]["_target_"] = "dlnotes.tasks.detection.DetectionTask"
    torch.save(checkpoint, tmp_path / "detector.ckpt")
    with pytest.raises(ConfigError, match="holds a DetectionTask: .* use python predict.py"):
        run_export(tmp_path / "detector.ckpt", tmp_path, "onnx")
