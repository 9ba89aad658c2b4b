"""wandb without surprises: offline when no credentials are found, with the sync command."""

import logging
import os

from lightning.pytorch.loggers import WandbLogger

log = logging.getLogger(__name__)


def has_wandb_credentials() -> bool:
    """An API key in the environment or in the netrc file that `wandb login` writes."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    if os.environ.get("WANDB_MODE") in ("offline", "disabled"):
        return False
    import netrc

    try:
        hosts = netrc.netrc(os.environ.get("NETRC")).hosts
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False
    return any("wandb" in host for host in hosts)


def wandb_logger(offline: bool | None = None, **kwargs) -> WandbLogger:
    """A `WandbLogger`; `offline=None` decides from the credentials."""
    if offline is None:
        offline = not has_wandb_credentials()
        if offline:
            log.info("wandb: no API key found, logging offline (see the sync command at the end)")
    os.makedirs(kwargs.get("save_dir") or ".", exist_ok=True)
    return WandbLogger(offline=offline, **kwargs)


def finish_wandb(loggers: list) -> None:
    """Close the run (so the next job of a sweep starts its own) and say how to upload it."""
    for logger in loggers:
        if not isinstance(logger, WandbLogger):
            continue
        import wandb

        run = wandb.run
        if run is not None and run.settings._offline:
            log.info(
                f"wandb: offline run saved; upload it with: wandb sync {run.dir.rsplit('/', 1)[0]}"
            )
        wandb.finish()
