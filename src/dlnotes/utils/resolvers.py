"""OmegaConf resolvers the configs use; registered when `dlnotes` is imported."""

from omegaconf import OmegaConf


def register_resolvers() -> None:
    # ${if_set:VALUE,THEN,ELSE}: THEN when VALUE is set (not null/empty), else ELSE —
    # e.g. a GAN monitors val/fid only when a feature checkpoint for FID is given
    if not OmegaConf.has_resolver("if_set"):
        OmegaConf.register_new_resolver(
            "if_set", lambda value, then, otherwise=None: then if value else otherwise
        )
