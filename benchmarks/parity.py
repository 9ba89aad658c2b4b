"""Parity: train.py's path against a plain PyTorch loop, same NIN, same batches, same steps.

    python benchmarks/parity.py [epochs=3] [repeats=3] [batches=all] [HYDRA OVERRIDES ...]

(`batches=N`: only the first N training and validation batches of each epoch, for smoke runs.)

(a) train.py's path: the composed config (default callbacks: checkpoints, learning-rate monitor,
    model inspection, divergence stop; the CSV logger unless overridden), our datamodule's
    in-memory batches, our ClassificationTask (train accuracy, per-step loss logging), a
    Lightning Trainer. (b) A hand-written loop: the same net (same initial weights, the same
    channels_last layout), the same optimizer and scheduler, the same batches in the same order,
    and a validation pass after each epoch. Both are timed from the first training step to the
    end of the last epoch (start-up is benchmarks/startup.py's); they run alternately `repeats`
    times and the medians are compared. Prints images/s of each, the ratio ours / plain, and
    the first steps' losses of both (the same seed: they must be equal).
"""

import statistics
import sys
import tempfile
import time
from itertools import islice

import lightning as L
import torch
import torch.nn.functional as F
from harness import MNIST_OVERRIDES, compose_train_config, machine, split_args, with_defaults
from hydra.utils import instantiate

from dlnotes.run.build import build_datamodule, build_model, build_trainer

DEFAULTS = {"epochs": "3", "repeats": "3", "compare_steps": "5", "batches": "all"}
BASE = ["model=nin", "trainer=cpu", "logger=csv"]


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a GPU's kernels run after the call that queued them)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Stopwatch(L.Callback):
    """Times the training from step `warmup` to the end of step `until` (default: the end of
    the last epoch) and keeps the first losses; reseeds torch as training starts, as the plain
    loop does."""

    def __init__(self, seed: int, compare_steps: int, warmup: int = 0, until: int | None = None):
        self.seed, self.compare_steps = seed, compare_steps
        self.warmup, self.until = warmup, until
        self.losses: list[float] = []
        self.start, self.seconds, self.stopped = None, 0.0, False

    def on_train_start(self, trainer, pl_module):
        torch.manual_seed(self.seed)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.warmup and self.start is None:
            synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if len(self.losses) < self.compare_steps:
            self.losses.append(float(outputs["loss"]))
        if trainer.global_step == self.until:
            self._stop(pl_module)

    def on_train_end(self, trainer, pl_module):
        if self.until is None:
            self._stop(pl_module)

    def _stop(self, pl_module):
        if self.start is None:  # no step `warmup`: the check after fit says so
            return
        synchronize(pl_module.device)
        self.seconds = time.perf_counter() - self.start
        self.stopped = True

    def check(self, steps_run: int) -> None:
        """A stopwatch that never started or stopped timed nothing: an error, never 0 s."""
        if not self.stopped:
            raise RuntimeError(never_timed(self.warmup, self.until, steps_run))


def never_timed(warmup: int, until: int | None, steps_run: int) -> str:
    wanted = f"steps {warmup} to {until}" if until is not None else f"from step {warmup}"
    return (
        f"timed nothing: training ran {steps_run} steps, the stopwatch wanted {wanted}; the "
        "data has fewer batches than the timed steps ask for (fewer steps, or a smaller batch)"
    )


def ours(
    cfg, initial: dict, compare_steps: int, datamodule=None, callbacks=(), **timing
) -> tuple[float, list[float]]:
    """train.py's objects (build_datamodule, build_model, build_trainer), fit, timed (`timing`:
    Stopwatch's warmup and until); `callbacks` are added to the trainer's."""
    datamodule = datamodule or build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    model.net.load_state_dict(initial)
    trainer, _ = build_trainer(cfg, ckpt_path=None)
    stopwatch = Stopwatch(cfg.seed, compare_steps, **timing)
    trainer.callbacks += [*callbacks, stopwatch]
    trainer.fit(model, datamodule=datamodule)
    stopwatch.check(trainer.global_step)
    return stopwatch.seconds, stopwatch.losses


def limit(batches: int | float) -> int | None:
    """Lightning's limit_*_batches (an int, or 1.0 for all) as islice's stop."""
    return batches if isinstance(batches, int) else None


def to_float(images: torch.Tensor) -> torch.Tensor:
    return images.float().div_(255) if images.dtype == torch.uint8 else images


def batches_on(datamodule, name: str, device: torch.device):
    """Split `name`'s batches as our datamodule gives them, indexed on `device` (as ours are on
    a GPU with data.on_device=true)."""
    if device.type == "cpu":
        return getattr(datamodule, f"{name}_dataloader")()
    images, labels = datamodule.split_on(name, device)
    return datamodule.batch_type(
        images, labels, datamodule.batch_size, shuffle=name == "train", seed=datamodule.seed
    )


def plain(
    cfg,
    initial: dict,
    compare_steps: int,
    datamodule=None,
    device: torch.device | str = "cpu",
    warmup: int = 0,
    until: int | None = None,
) -> tuple[float, list[float]]:
    """The loop one would write by hand around the same net, optimizer and batches.

    On `device`, with the config's channels_last, bf16-mixed (autocast) and model.compile;
    timed from step `warmup` to the end of step `until` (default: the end of the last epoch).
    """
    device = torch.device(device)
    datamodule = datamodule or build_datamodule(cfg)
    net = instantiate(cfg.model.net)
    net.load_state_dict(initial)
    layout = torch.channels_last if cfg.model.get("channels_last") else torch.contiguous_format
    net = net.to(device=device, memory_format=layout)
    forward = torch.compile(net) if cfg.model.get("compile") else net
    bf16 = cfg.trainer.get("precision") in ("bf16-mixed", "bf16")
    optimizer = instantiate(cfg.model.optimizer)(params=net.parameters())
    scheduler = instantiate(cfg.model.scheduler)(optimizer=optimizer)
    train_batches = batches_on(datamodule, "train", device)
    val_batches = batches_on(datamodule, "val", device)
    losses, step, start = [], 0, None
    torch.manual_seed(cfg.seed)
    for _ in range(cfg.trainer.max_epochs):
        net.train()
        for images, labels in islice(
            train_batches, limit(cfg.trainer.get("limit_train_batches", 1.0))
        ):
            if step == warmup and start is None:
                synchronize(device)
                start = time.perf_counter()
            images = to_float(images).contiguous(memory_format=layout)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(forward(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if len(losses) < compare_steps:
                losses.append(loss.item())
            step += 1
            if step == until:
                synchronize(device)
                return time.perf_counter() - start, losses
        scheduler.step()
        net.eval()
        correct = 0
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            for images, labels in islice(
                val_batches, limit(cfg.trainer.get("limit_val_batches", 1.0))
            ):
                logits = forward(to_float(images).contiguous(memory_format=layout))
                correct += int((logits.argmax(1) == labels).sum())
    if start is None or until is not None:  # never reached step `warmup`, or step `until`
        raise RuntimeError(never_timed(warmup, until, step))
    synchronize(device)
    return time.perf_counter() - start, losses


def main(argv: list[str]) -> dict[str, float]:
    args, overrides = split_args(argv, DEFAULTS)
    epochs, repeats, compare = int(args["epochs"]), int(args["repeats"]), int(args["compare_steps"])
    overrides = with_defaults(overrides, [*BASE, *MNIST_OVERRIDES, f"trainer.max_epochs={epochs}"])
    if args["batches"] != "all":
        batches = int(args["batches"])
        overrides += [
            f"+trainer.limit_train_batches={batches}",
            f"+trainer.limit_val_batches={batches}",
        ]
    print(f"{machine()}\noverrides: {' '.join(overrides)}")
    seconds: dict[str, list[float]] = {"ours": [], "plain": []}
    losses = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_train_config(overrides, tmp)
        L.seed_everything(cfg.seed, workers=True)
        initial = instantiate(cfg.model.net).state_dict()
        images = len(build_datamodule(cfg).split("train")[1])
        if args["batches"] != "all":
            images = min(images, int(args["batches"]) * cfg.data.batch_size)
        images *= epochs
        for i in range(repeats):
            for name, run in (("ours", ours), ("plain", plain)):
                cfg = compose_train_config(overrides, f"{tmp}/{name}{i}")
                elapsed, first_losses = run(cfg, initial, compare)
                seconds[name].append(elapsed)
                losses.setdefault(name, first_losses)
                print(f"  {name:5s} run {i}: {images / elapsed:8.1f} images/s")
    for name, values in losses.items():
        print(f"first losses, {name:5s}: " + " ".join(f"{v:.6f}" for v in values))
    difference = max(abs(a - b) for a, b in zip(losses["ours"], losses["plain"], strict=True))
    print(f"largest difference of the first {compare} losses: {difference:.2e}")
    speed = {name: images / statistics.median(times) for name, times in seconds.items()}
    print(f"ours  {speed['ours']:8.1f} images/s (median of {repeats})")
    print(f"plain {speed['plain']:8.1f} images/s (median of {repeats})")
    print(f"ratio ours / plain: {speed['ours'] / speed['plain']:.3f}")
    return speed | {"loss_difference": difference}


if __name__ == "__main__":
    main(sys.argv[1:])
