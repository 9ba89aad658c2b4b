"""Fast paths, each one config switch: channels_last, bf16-mixed, compile; training images/s.

    python benchmarks/fast_paths.py [models=nin,resnet50] [steps=20] [warmup=3]
        [variants=fp32,channels_last,bf16,bf16+channels_last,compile+bf16+channels_last]
        [HYDRA OVERRIDES ...]   (default data: random 1×32×32 images, batch 64)

Every variant is train.py's config with its switches set (`model.channels_last`,
`trainer.precision=bf16-mixed`, `model.compile`), trained through the Lightning Trainer on the
same batches; the time of `steps` steps after `warmup` steps (compilation happens there) gives
images/s. Prints each variant's images/s and its speed-up over fp32 (contiguous layout).
"""

import sys
import tempfile
import time

import lightning as L
from harness import compose_train_config, machine, split_args, with_defaults

from dlnotes.run.build import build_datamodule, build_model, build_trainer

DEFAULTS = {
    "models": "nin,resnet50",
    "steps": "20",
    "warmup": "3",
    "variants": "fp32,channels_last,bf16,bf16+channels_last,compile+bf16+channels_last",
}
SWITCHES = {
    "channels_last": "model.channels_last=true",
    "bf16": "trainer.precision=bf16-mixed",
    "compile": "model.compile=true",
}
BASE = [
    "trainer=cpu",
    "logger=none",
    "callbacks=none",
    "test=false",
    "+trainer.limit_val_batches=0",
    "data=synthetic",  # every batch the same shape: nothing for compile to recompile
    "data.image_shape=[1,32,32]",
    "data.num_classes=10",
    "data.train_size=1280",
    "data.batch_size=64",
]


class StepTimer(L.Callback):
    """Seconds of the training steps after the first `warmup` ones."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.seconds = warmup, None, 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.warmup:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def variant_overrides(variant: str) -> list[str]:
    names = [] if variant == "fp32" else variant.split("+")
    unknown = set(names) - set(SWITCHES)
    if unknown:
        raise SystemExit(
            f"error: unknown variant part {sorted(unknown)}: use {', '.join(SWITCHES)}"
        )
    return ["model.channels_last=false", *(SWITCHES[name] for name in names)]


def images_per_second(overrides: list[str], steps: int, warmup: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_train_config([*overrides, f"+trainer.max_steps={warmup + steps}"], tmp)
        L.seed_everything(cfg.seed)
        datamodule = build_datamodule(cfg)
        model = build_model(cfg, datamodule)
        trainer, _ = build_trainer(cfg, ckpt_path=None)
        timer = StepTimer(warmup)
        trainer.callbacks.append(timer)
        trainer.fit(model, datamodule=datamodule)
        return steps * cfg.data.batch_size / timer.seconds


def main(argv: list[str]) -> dict[tuple[str, str], float]:
    args, overrides = split_args(argv, DEFAULTS)
    steps, warmup = int(args["steps"]), int(args["warmup"])
    print(f"{machine()}\n{' '.join(with_defaults(overrides, BASE))}")
    speed = {}
    for model in args["models"].split(","):
        for variant in args["variants"].split(","):
            run = with_defaults([f"model={model}", *variant_overrides(variant), *overrides], BASE)
            speed[model, variant] = images_per_second(run, steps, warmup)
            ratio = speed[model, variant] / speed.get((model, "fp32"), speed[model, variant])
            print(f"{model:9s} {variant:28s} {speed[model, variant]:8.1f} images/s  {ratio:5.2f}×")
    return speed


if __name__ == "__main__":
    main(sys.argv[1:])
