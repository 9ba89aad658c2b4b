"""An Optuna sweep in wandb: one more run in the sweep's group (job type `sweep`) with the
study's pictures and the summary table beside the trials' own runs."""

from pathlib import Path

from omegaconf import DictConfig

from dlnotes.loggers.wandb import has_wandb_credentials


def log_sweep_to_wandb(
    logger_cfg: DictConfig, group: str, sweep_dir: Path, pictures: list[Path], table: list[dict]
) -> None:
    import wandb

    offline = logger_cfg.get("offline")
    offline = (not has_wandb_credentials()) if offline is None else offline
    run = wandb.init(
        project=logger_cfg.get("project"),
        entity=logger_cfg.get("entity"),
        group=group,
        job_type="sweep",
        name=f"{group}-summary",
        dir=str(sweep_dir),
        mode="offline" if offline else "online",
    )
    columns = list(table[0])
    rows = [[_cell(row[key]) for key in columns] for row in table]
    run.log(
        {
            "sweep/summary": wandb.Table(columns=columns, data=rows),
            **{f"sweep/{path.stem}": wandb.Image(str(path)) for path in pictures},
        }
    )
    run.finish()


def _cell(value):
    return value if value is None or isinstance(value, int | float) else str(value)
