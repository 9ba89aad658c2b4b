"""python -m dlnotes.export ckpt_path=<checkpoint> format=onnx|torchscript — a trained model for
use outside PyTorch (onnx) or outside Python's training code (torchscript).

Writes into its run directory the net (a classifier's or a segmenter's: images → class scores,
any batch size) as model.onnx or model.pt, and preprocessing.json: the input's size, channels,
scale, mean and std, the class names, and the check that the file gives PyTorch's outputs.
The image shape and class count come from the checkpoint's data config (no data is loaded when
it states them, as every checkpoint from train.py does). ONNX needs the `export` extra
(`pip install -e ".[export]"`: onnx, onnxscript, onnxruntime).
"""

import json
import logging
import warnings
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from dlnotes.checkpoints.fit import trained_model
from dlnotes.checkpoints.load import load_checkpoint, saved_class_names, saved_config
from dlnotes.config.paths import conf_dir, repo_root, set_repo_root
from dlnotes.errors import ConfigError
from dlnotes.prediction.convert import ImageConversion
from dlnotes.run.cli import run_cli
from dlnotes.run.data_shape import data_shape

set_repo_root(repo_root())  # conf/paths reads it (DLNOTES_ROOT)
log = logging.getLogger(__name__)

FORMATS = {"onnx": "model.onnx", "torchscript": "model.pt"}
TOLERANCE = 1e-4  # largest difference from PyTorch's outputs accepted
EXPORTED_TASKS = {  # task → what its net's output is
    "ClassificationTask": ("logits", "class scores before softmax, (batch, classes)"),
    "SegmentationTask": ("logits", "per-pixel class scores before softmax, (batch, classes, H, W)"),
}
OTHER_TASKS = {
    "DetectionTask": "a detector's proposals and box decoding (selective search in OpenCV, "
    "torchvision's post-processing) are not exported: use python predict.py",
    "VAETask": "a VAE is not exported: use python predict.py (reconstructions and latents) or "
    "python sample.py",
    "GANTask": "a GAN is not exported: draw samples with python sample.py",
}


def check_exportable(task: str, ckpt_path: str) -> None:
    """`task`, the class name of the checkpoint's model, is one whose net can be exported."""
    if task not in EXPORTED_TASKS:
        reason = OTHER_TASKS.get(task, "export takes classifiers and segmenters")
        raise ConfigError(f"{ckpt_path} holds a {task}: {reason}")


def exported_net(model, ckpt_path: str) -> torch.nn.Module:
    """The net images go through (the task's `net`), in eval mode and contiguous layout."""
    check_exportable(type(model).__name__, ckpt_path)
    return model.net.eval().to(memory_format=torch.contiguous_format)


def export_onnx(net: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """torch.export → ONNX (torch's recommended exporter), the batch dimension left free."""
    try:
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError:
        raise ConfigError(
            'format=onnx needs the export extra: pip install -e ".[export]"'
        ) from None
    for name in ("onnx_ir", "onnxscript"):  # each optimization pass would log a line
        logging.getLogger(name).setLevel(logging.WARNING)
    batch = torch.export.Dim("batch")
    program = torch.onnx.export(
        net,
        (example,),
        dynamo=True,
        input_names=["images"],
        output_names=["logits"],
        dynamic_shapes=({0: batch},),
        verbose=False,
    )
    program.save(str(path), external_data=False)


def export_torchscript(net: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """A traced TorchScript module (PyTorch deprecates TorchScript; prefer ONNX where it fits)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*torch.jit.*")
        traced = torch.jit.trace(net, example)
        traced.save(str(path))


def onnx_outputs(path: Path, images: torch.Tensor) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"images": images.numpy()})
    return torch.from_numpy(logits)


def torchscript_outputs(path: Path, images: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*torch.jit.*")
        return torch.jit.load(str(path), map_location="cpu")(images)


def checked(net: torch.nn.Module, path: Path, fmt: str, image_shape) -> dict:
    """The exported file's outputs against PyTorch's on 3 random images (another batch size
    than the traced one); raises when they differ by more than TOLERANCE."""
    images = torch.rand(3, *image_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = net(images)
        if fmt == "onnx":
            import onnxruntime

            runtime = f"onnxruntime {onnxruntime.__version__}"
            got = onnx_outputs(path, images)
        else:
            runtime, got = f"torch.jit {torch.__version__}", torchscript_outputs(path, images)
    difference = float((got - expected).abs().max())
    if not difference <= TOLERANCE:
        raise RuntimeError(
            f"{path} gives outputs {difference:.2e} away from PyTorch's (more than {TOLERANCE})"
        )
    return {"runtime": runtime, "images": len(images), "max_abs_difference": difference}


def export_model(
    model, ckpt_path: str, fmt: str, image_shape, names: list[str], out_dir: Path
) -> dict[str, Path]:
    """Write the model file and preprocessing.json into `out_dir`; returns their paths."""
    net = exported_net(model, ckpt_path)
    path = Path(out_dir) / FORMATS[fmt]
    example = torch.rand(2, *image_shape)  # batch 2: torch.export keeps a size-1 batch fixed
    with torch.no_grad():
        export_onnx(net, example, path) if fmt == "onnx" else export_torchscript(net, example, path)
    check = checked(net, path, fmt, image_shape)
    output_name, meaning = EXPORTED_TASKS[type(model).__name__]
    conversion = ImageConversion(*image_shape)
    description = {
        "model": path.name,
        "format": fmt,
        "input": {"name": "images", "shape": ["batch", *image_shape], "dtype": "float32"},
        "output": {"name": output_name, "meaning": meaning},
        **conversion.as_dict(),
        "classes": names,
        "checkpoint": str(ckpt_path),
        "check": check,
    }
    description_path = Path(out_dir) / "preprocessing.json"
    description_path.write_text(json.dumps(description, indent=2, ensure_ascii=False) + "\n")
    log.info(f"{path} ({check['runtime']} matches PyTorch to {check['max_abs_difference']:.1e})")
    return {"model": path, "preprocessing": description_path}


def export(cfg: DictConfig) -> dict[str, Path]:
    if cfg.format not in FORMATS:
        raise ConfigError(f"format={cfg.format} is not known: use format=onnx or torchscript")
    checkpoint = load_checkpoint(cfg.ckpt_path)
    saved = saved_config(checkpoint, cfg.ckpt_path)
    check_exportable(saved["model"]["_target_"].rsplit(".", 1)[-1], cfg.ckpt_path)
    image_shape, _ = data_shape(OmegaConf.create({"data": saved["data"]}))
    model = trained_model(checkpoint, saved, cfg.ckpt_path, eager=True)  # traced, not compiled
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = saved_class_names(saved)
    return export_model(model, cfg.ckpt_path, cfg.format, image_shape, names, out_dir)


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="export")
def main(cfg: DictConfig) -> None:
    run_cli(export, cfg)


if __name__ == "__main__":
    main()
