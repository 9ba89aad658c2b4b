"""Section 5, data: data.on_device=true against false, on MNIST and on 3×32×32 random images
in memory (NIN, bf16-mixed): the data wait per step (fetching the batch and moving it to the
device, as Lightning's simple profiler records them) and its share of the step."""

import statistics

import lightning as L
from harness import compose_train_config
from hydra.utils import instantiate
from omegaconf import open_dict
from parity import ours

from dlnotes.run.build import build_datamodule

from .common import Run, free_memory, measured, throughput_overrides

DATA_WAIT_ACTIONS = ("train_dataloader_next", "batch_to_device")


class KeepProfile(L.Callback):
    """The seconds Lightning's simple profiler recorded for each action, as training ends."""

    def on_train_end(self, trainer, pl_module):
        self.durations = {k: list(v) for k, v in trainer.profiler.recorded_durations.items()}


def data_wait(run: Run, case: str, on_device: bool) -> dict:
    """ms per step waiting for the batch (fetching it and moving it, as Lightning's simple
    profiler records them) and ms per step in all, NIN bf16-mixed, `steps` steps."""
    sizes = run.sizes
    batch = sizes.data_batches[case]
    steps = sizes.data_steps
    if case == "mnist":
        overrides = [
            "model=nin",
            f"trainer={run.trainer}",
            "logger=csv",
            "test=false",
            "data=mnist",
            f"data.data_dir={run.data_dir}",
            "data.download=false",
            f"data.batch_size={batch}",
            "trainer.max_epochs=1",
            f"+trainer.limit_train_batches={steps}",
            "+trainer.limit_val_batches=0",
        ]
    else:
        overrides = throughput_overrides(run, "nin", run.sizes.nin_shape, 10, batch, steps)
    overrides += [
        "trainer.precision=bf16-mixed",
        f"data.on_device={str(on_device).lower()}",
        # Lightning's simple profiler, its report written to a file
        "+trainer.profiler._target_=lightning.pytorch.profilers.SimpleProfiler",
        f"+trainer.profiler.dirpath={run.tmp / 'profiles'}",
        f"+trainer.profiler.filename=data-{case}-{on_device}",
    ]
    cfg = compose_train_config(overrides, run.tmp / f"data-{case}-{on_device}")
    L.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    steps = steps_the_data_has(datamodule, steps, f"{case} at batch {batch}")
    with open_dict(cfg):
        cfg.trainer.limit_train_batches = steps
    initial = instantiate(cfg.model.net).state_dict()
    profiled = KeepProfile()
    # the steps after the first, synchronized: what a step takes, waits included
    seconds, _ = ours(
        cfg, initial, 0, datamodule=datamodule, callbacks=[profiled], warmup=1, until=steps
    )
    step_ms = 1000 * seconds / (steps - 1)
    # the typical (median) time of each action the batch waits for, once a step
    waits = [
        statistics.median(values)
        for name, values in profiled.durations.items()
        if any(action in name for action in DATA_WAIT_ACTIONS)
    ]
    wait_ms = 1000 * sum(waits)
    del datamodule
    free_memory()
    return {
        "batch": batch,
        "steps": steps,
        "data_wait_ms_per_step": round(wait_ms, 3),
        "step_ms": round(step_ms, 3),
        "share": round(wait_ms / step_ms, 4),
    }


def steps_the_data_has(datamodule, steps: int, what: str) -> int:
    """`steps`, or fewer when one epoch of the data has fewer batches (at least 2: one warm-up
    and one timed step)."""
    datamodule.setup("fit")
    available = len(datamodule.train_dataloader())
    if available < 2:
        raise RuntimeError(f"{what}: {available} training batch(es), too few to time (2 or more)")
    return min(steps, available)


def data(run: Run) -> dict:
    result = {}
    for case in ("mnist", "synthetic"):
        result[case] = {}
        for value in (True, False):
            setting = f"on_device={str(value).lower()}"
            result[case][setting] = measured(run, data_wait, run, case, value)
            run.progress("data", result)
        if run.dry:
            run.na("data.on_device: on a CPU both settings index batches in host memory")
    return result
