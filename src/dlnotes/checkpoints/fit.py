"""Does a checkpoint fit the model and data of this run? Say so in one line before Lightning
would fail with a page of missing and unexpected state_dict keys."""

from collections.abc import Mapping

from hydra.utils import instantiate

from dlnotes.checkpoints.load import saved_config
from dlnotes.errors import ConfigError, shape_text


def model_name(model_config: Mapping) -> str:
    """The net's class for a task built around one (`model.net`), else the task's."""
    net = model_config.get("net")
    if isinstance(net, Mapping) and "_target_" in net:
        return net["_target_"]
    return model_config["_target_"]


def check_same_task(saved: dict, datamodule, ckpt_path: str, hint: str) -> None:
    """The checkpoint's classes and image shape are the data's; `hint` says what to do."""
    trained = (saved["data"]["num_classes"], tuple(saved["data"]["image_shape"]))
    given = (datamodule.num_classes, tuple(datamodule.image_shape))
    if trained != given:
        raise ConfigError(
            f"{ckpt_path} was trained on {trained[0]} classes of {shape_text(trained[1])} images; "
            f"this data has {given[0]} classes of {shape_text(given[1])}: {hint}"
        )


def check_same_model(saved: dict, model_config: Mapping, ckpt_path: str) -> None:
    trained, wanted = model_name(saved["model"]), model_name(model_config)
    if trained != wanted:
        raise ConfigError(
            f"{ckpt_path} is a checkpoint of {trained}, this run builds {wanted}: give the "
            f"model it was trained with (its .hydra/overrides.yaml), or another checkpoint"
        )


def load_weights(model, checkpoint: dict, ckpt_path: str, name: str) -> None:
    """`model.load_state_dict`, with a short reason when the weights do not fit."""
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        reason = " ".join(str(error).split())[:300]
        raise ConfigError(f"{ckpt_path} does not fit model {name}: {reason}") from None


def trained_model(checkpoint: dict, saved: dict, ckpt_path: str, eager: bool = False):
    """The model of a `train.py` checkpoint, rebuilt from its saved config (`saved`) with its
    weights, in eval mode; `eager`: without torch.compile, whatever the run trained with."""
    config = saved["model"]
    if eager and config.get("compile"):
        config = {**config, "compile": False}
    model = instantiate(config)
    load_weights(model, checkpoint, ckpt_path, model_name(saved["model"]))
    return model.eval()


def check_resumable(checkpoint: dict, ckpt_path: str, model, model_config, datamodule) -> None:
    """Training continues from `checkpoint` only with its model, its classes, its weights."""
    saved = saved_config(checkpoint, ckpt_path)
    check_same_model(saved, model_config, ckpt_path)
    hint = "continue on the data it was trained on, or start without ckpt_path"
    check_same_task(saved, datamodule, ckpt_path, hint)
    load_weights(model, checkpoint, ckpt_path, model_name(model_config))
