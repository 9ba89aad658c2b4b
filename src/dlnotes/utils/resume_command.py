"""The command that continues this run: its overrides, its directory, `ckpt_path=last`."""

import shlex

from omegaconf import DictConfig

from dlnotes.utils.job_result import job_info


def resume_command(cfg: DictConfig, script: str = "train.py") -> str:
    """`python train.py <the same overrides> hydra.run.dir=<this run's dir> ckpt_path=last`."""
    overrides = [
        override
        for override in job_info().get("overrides", [])
        if override.split("=", 1)[0].lstrip("+~") != "ckpt_path"
    ]
    run_dir = f"hydra.run.dir={cfg.paths.output_dir}"
    return shlex.join(["python", script, *overrides, run_dir, "ckpt_path=last"])
