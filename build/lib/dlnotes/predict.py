"""Apply a trained model to your own images. `predict.py` at the root calls `predict(cfg)`.

The checkpoint carries its data and model config: its data config decides how each image is
converted (channels, size, values: `prediction/convert.py`), its model which outputs are
written (`prediction/`). A file that cannot be read is reported in one line, listed in
inputs.csv, and the others go on.
"""

import logging
from pathlib import Path

import torch
from hydra.utils import get_class
from omegaconf import DictConfig

from dlnotes.checkpoints.fit import trained_model
from dlnotes.checkpoints.load import load_checkpoint, saved_class_names, saved_config
from dlnotes.errors import ConfigError
from dlnotes.prediction.classify import ClassifierOutputs
from dlnotes.prediction.convert import ImageConversion
from dlnotes.prediction.detect import DetectorOutputs
from dlnotes.prediction.inputs import input_batches, list_inputs
from dlnotes.prediction.outputs import INPUTS_FILE, Outputs, write_inputs
from dlnotes.prediction.reconstruct import VAEOutputs
from dlnotes.prediction.segment import SegmenterOutputs
from dlnotes.tasks.classification import ClassificationTask
from dlnotes.tasks.detection import DetectionTask
from dlnotes.tasks.gan import GANTask
from dlnotes.tasks.segmentation import SegmentationTask
from dlnotes.tasks.vae import VAETask

log = logging.getLogger(__name__)

OUTPUTS = {  # the task a checkpoint's model is (or a subclass of it) → what predicting writes
    ClassificationTask: ClassifierOutputs,
    SegmentationTask: SegmenterOutputs,
    DetectionTask: DetectorOutputs,
    VAETask: VAEOutputs,
}


def outputs_for(target: str, ckpt_path: str) -> type[Outputs]:
    """The outputs for the checkpoint's model class `target`, or a one-line error."""
    try:
        task = get_class(target)
    except Exception:  # a class that is no longer there
        task = object
    for kind, outputs in OUTPUTS.items():
        if issubclass(task, kind):
            return outputs
    if issubclass(task, GANTask):
        raise ConfigError(
            f"{ckpt_path} is a GAN's checkpoint: a GAN makes images rather than reading them; "
            f"draw samples with: python sample.py ckpt_path={ckpt_path}"
        )
    raise ConfigError(
        f"{ckpt_path} holds a {target.rsplit('.', 1)[-1]}, which predict.py does not apply: "
        "give a checkpoint of a classifier, a segmenter, a detector or a VAE"
    )


def checked_options(cfg: DictConfig) -> torch.device:
    """The options' one-line errors; the device to run on."""
    for key in ("top_k", "batch_size", "contact_sheet"):
        value = cfg.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{key}={value!r} is not valid: it must be an integer ≥ 1")
    if not isinstance(cfg.num_workers, int) or cfg.num_workers < 0:
        raise ConfigError(f"num_workers={cfg.num_workers!r} is not valid: it must be ≥ 0")
    if not isinstance(cfg.background, int | float) or not 0 <= cfg.background <= 1:
        raise ConfigError(
            f"background={cfg.background!r} is not valid: give a gray level in [0, 1]"
        )
    return chosen_device(str(cfg.device))


def chosen_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"device={name} is not a device: use auto, cpu, cuda or cuda:<index>"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device={name} but this machine has no GPU that PyTorch can use: use device=cpu"
        )
    return device


@torch.inference_mode()
def predict(cfg: DictConfig) -> dict:
    """Write the model's outputs for every readable image under `cfg.input` into the run
    directory; returns {"inputs": [...], "files": [paths written]}."""
    device = checked_options(cfg)
    checkpoint = load_checkpoint(cfg.ckpt_path)
    hint = ": give a checkpoint from train.py (logs/train/runs/<run>/checkpoints/*.ckpt)"
    saved = saved_config(checkpoint, cfg.ckpt_path, hint)
    outputs_class = outputs_for(saved["model"]["_target_"], cfg.ckpt_path)
    inputs = list_inputs(str(cfg.input))

    model = trained_model(checkpoint, saved, cfg.ckpt_path).to(device)
    del checkpoint
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = outputs_class(model, out_dir, saved_class_names(saved), cfg)
    conversion = ImageConversion.from_data_config(saved["data"], float(cfg.background))
    log.info(
        f"{len(inputs)} files from {cfg.input}, each converted to "
        f"{conversion.channels}×{conversion.height}×{conversion.width} as {cfg.ckpt_path} "
        f"was trained ({outputs_class.__name__.removesuffix('Outputs').lower()})"
    )

    loader = input_batches(
        inputs, conversion, cfg.batch_size, cfg.num_workers, outputs.keeps_originals
    )
    for batch in loader:
        for index, reason in batch.failed:
            inputs[index].error = reason
            log.warning(f"skipped {inputs[index].name}: {reason}")
        for index, (width, height), mode in zip(
            batch.indices, batch.sizes, batch.modes, strict=True
        ):
            inputs[index].width, inputs[index].height, inputs[index].mode = width, height, mode
        if batch.indices:
            outputs.write(batch.images.to(device), batch, [inputs[i] for i in batch.indices])
    files = [write_inputs(out_dir, inputs)]
    failed = [item for item in inputs if item.error]
    if len(failed) == len(inputs):
        raise ConfigError(
            f"none of the {len(inputs)} files under input={cfg.input} is a readable image "
            f"(each with its reason in {out_dir / INPUTS_FILE})"
        )
    files += outputs.close()
    skipped = f"; {len(failed)} skipped, listed in {INPUTS_FILE}" if failed else ""
    log.info(f"{len(inputs) - len(failed)} images predicted{skipped}; outputs in {out_dir}")
    return {"inputs": inputs, "files": files}
