"""Section 4, ddp: trainer=ddp on the machine's GPUs (ResNet50 on MNIST-shaped images,
bf16-mixed, channels_last): images/s per GPU against trainer=gpu in the same run, whether PyTorch
warned "Grad strides do not match bucket view strides", the parameters whose gradient strides
differ from theirs after one step (our channels_last path and a plain `.to(memory_format=...)`
one), the SyncBatchNorm layers the DDP model has, and what trainer=ddp says to
model.net.norm=notes_bn."""

import lightning as L
import torch
from harness import compose_train_config
from hydra.utils import instantiate
from parity import ours

from dlnotes.config.validate import validate_config
from dlnotes.errors import ConfigError
from dlnotes.run.build import build_datamodule, build_model

from .common import Run, command_result, free_memory, throughput_overrides

STRIDE_WARNING = "Grad strides do not match bucket view strides"


def ddp_overrides(run: Run, ddp: bool) -> list[str]:
    """ResNet50 on 1×28×28 images (MNIST's shape: the first conv sees one channel, stage 5 is
    1×1), bf16-mixed, channels_last: the run in which DDP warned about gradient strides; under
    DDP (`ddp`) or on one device."""
    sizes = run.sizes
    steps = sizes.warmup + sizes.ddp_steps
    # the dry run: DDP in one CPU process (gloo), as cheap as DDP gets; SyncBatchNorm is GPU-only
    trainer = ("trainer=ddp_cpu", "trainer.devices=1") if run.dry else ("trainer=ddp",)
    ranks = 1 if run.dry or not ddp else torch.cuda.device_count()
    return [
        *throughput_overrides(
            run,
            sizes.resnet_model,
            "[1,28,28]",
            10,
            sizes.ddp_batch,
            steps,
            trainer if ddp else None,
            ranks,
        ),
        "trainer.precision=bf16-mixed",
    ]


def ddp_command(run: Run) -> list[str]:
    sizes = run.sizes
    probe = "+callbacks.suite_rate"
    return [
        *ddp_overrides(run, ddp=True),
        f"{probe}._target_=suite_probe.StepRate",
        f"{probe}.warmup={sizes.warmup}",
        f"{probe}.until={sizes.warmup + sizes.ddp_steps}",
    ]


def mismatched_grad_strides(run: Run, model_name: str, shape: str, ours_path: bool) -> list[str]:
    """Parameters whose gradient strides differ from theirs after one bf16 step on the device:
    through ClassificationTask (ours) or a net moved with `.to(memory_format=channels_last)`
    and fed `.contiguous(memory_format=channels_last)` batches."""
    overrides = throughput_overrides(run, model_name, shape, 10, 4, 1)
    cfg = compose_train_config(overrides, run.tmp / "strides")
    L.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    images, labels = datamodule.split("train")
    images = images[:4].to(run.device).float().div(255)
    labels = labels[:4].to(run.device)
    if ours_path:
        model = build_model(cfg, datamodule).to(run.device)
        net, forward = model.net, model
    else:
        net = instantiate(cfg.model.net).to(run.device, memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)

        def forward(x):
            return net(x)

    with torch.autocast(run.device.type, dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(forward(images), labels)
    loss.backward()
    return [
        f"{name} {tuple(p.shape)}: grad {p.grad.stride()} / param {p.stride()}"
        for name, p in net.named_parameters()
        if p.grad is not None and p.grad.stride() != p.stride()
    ]


def notes_bn_under_ddp(run: Run) -> str:
    """What train.py says to trainer=ddp with the notes' BN (validate_config, before anything
    is built)."""
    cfg = compose_train_config(["trainer=ddp", "model.net.norm=notes_bn"], run.tmp / "notes-bn")
    try:
        validate_config(cfg)
    except ConfigError as error:
        return f"refused: {error}"
    return "accepted (its statistics stay per GPU)"


def ddp(run: Run) -> dict:
    sizes = run.sizes
    result = {"layout": {}}
    for model_name in sizes.layout_models:
        for shape in ("[1,28,28]", "[3,32,32]"):
            key = f"{model_name} {shape}"
            result["layout"][key] = {
                "ours": mismatched_grad_strides(run, model_name, shape, ours_path=True),
                "to_memory_format": mismatched_grad_strides(run, model_name, shape, False),
            }
            free_memory()
    result["notes_bn"] = notes_bn_under_ddp(run)
    run.progress("ddp", result)
    done = command_result(run, "ddp", ddp_command(run))
    marks = done["marks"]
    world = int(marks["SUITE_WORLD"])
    warnings = [line for line in done["stderr"].splitlines() if "strides()" in line]
    result["run"] = {
        "command": done["command"],
        "world_size": world,
        "model_wrapper": marks["SUITE_WRAPPER"],
        "images_per_s_per_gpu": round(float(marks["SUITE_IMAGES_PER_S"]), 1),
        "stride_warning": STRIDE_WARNING in done["stderr"],
        "stride_warning_lines": warnings[:4],
        "sync_batchnorm_layers": int(marks["SUITE_SYNC_BN"])
        if not run.dry
        else run.na("SyncBatchNorm layers under DDP (GPU-only: trainer=ddp_cpu has it off)"),
    }
    # the same config on one device, trainer=gpu, in this process: the per-GPU baseline
    cfg = compose_train_config(ddp_overrides(run, ddp=False), run.tmp / "ddp-baseline")
    L.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    initial = instantiate(cfg.model.net).state_dict()
    until = sizes.warmup + sizes.ddp_steps
    seconds, _ = ours(cfg, initial, 0, datamodule=datamodule, warmup=sizes.warmup, until=until)
    single = sizes.ddp_steps * sizes.ddp_batch / seconds
    result["run"]["single_device_images_per_s"] = round(single, 1)
    result["run"]["ratio_per_gpu"] = round(result["run"]["images_per_s_per_gpu"] / single, 3)
    del datamodule
    free_memory()
    return result
