"""Section 3, accuracy: `python train.py` commands, each timed whole (start-up included), per
job and in training alone: NIN on MNIST (data_dir, torchvision's layout) to >= 99% test accuracy
with bf16-mixed, and the experiments vae_mnist and dcgan_mnist in one sweep."""

from .common import SKIPPED, Run, command_result
from .report import number


def accuracy_commands(run: Run) -> dict[str, list[str]]:
    """NIN on MNIST alone (its whole command is the time to accuracy), and the two
    experiments as one sweep (each job timed; their start-up is NIN's, once)."""
    common = [
        f"data.data_dir={run.data_dir}",
        "data.download=false",
        f"trainer={run.trainer}",
        "logger=csv",
        *run.sizes.command_limits,
    ]
    return {
        "nin_mnist": [
            "data=mnist",
            "trainer.precision=bf16-mixed",
            f"trainer.max_epochs={run.sizes.nin_epochs}",
            *common,
        ],
        # data=mnist as both experiments have it: the sweep checks the overrides against it
        "experiments": ["-m", "experiment=vae_mnist,dcgan_mnist", "data=mnist", *common],
    }


def accuracy(run: Run) -> dict:
    commands = accuracy_commands(run)
    nin = command_result(run, "nin_mnist", commands["nin_mnist"])
    (job,) = nin["jobs"]
    value = job["metrics"]["test/acc"]
    result = {
        "nin_mnist": {
            "command": nin["command"],
            "whole_s": nin["whole_s"],
            "job_s": job["job_s"],
            "training_s": job["training_s"],
            "metric": "test/acc",
            "value": value,
            "target": 0.99,
            "met": value >= 0.99,
        }
    }
    run.progress("accuracy", result)
    if run.out_of_time():
        return result | {"experiments": {"error": SKIPPED}}
    sweep = command_result(run, "experiments", commands["experiments"])
    for job, name in zip(sweep["jobs"], ("vae_mnist", "dcgan_mnist"), strict=True):
        row = {
            "command": f"python train.py experiment={name} "
            + " ".join(commands["experiments"][2:]),
            "whole_s": "in one sweep: " + number(sweep["whole_s"]) + " s for both",
            "job_s": job["job_s"],
            "training_s": job["training_s"],
        }
        if name == "vae_mnist":
            row["metric"], row["value"] = "test/recon_ratio", job["metrics"]["test/recon_ratio"]
        result[name] = row
    for name, row in result.items():
        print(f"{name}: {row}", flush=True)
    return result
