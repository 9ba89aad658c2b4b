"""Before training starts: does the model take the data's images and give its classes?"""

import torch
from omegaconf import DictConfig

from dlnotes.errors import ConfigError, shape_text


def check_model_fits_data(model, image_shape, num_classes: int, cfg: DictConfig) -> None:
    """Ask the net (`check_input_shape`), then try one tiny forward pass on zeros.

    A task with nets of its own shape (a GAN's pair, say) answers through `check_data`, which
    raises ValueError with the reason.
    """
    data_name = cfg.data.get("_target_", "data").rsplit(".", 1)[-1]
    if hasattr(model, "check_data"):
        try:
            model.check_data(tuple(image_shape))
        except (ValueError, RuntimeError) as error:
            reason = str(error).strip().splitlines()[0]
            raise ConfigError(
                f"{type(model).__name__} does not fit {data_name}: {reason}"
            ) from None
        return
    net = getattr(model, "net", None)
    if net is None:
        return
    net_name = type(net).__name__
    if hasattr(net, "check_input_shape"):
        try:
            net.check_input_shape(tuple(image_shape))
        except ValueError as error:
            raise ConfigError(f"{net_name} does not fit {data_name}: {error}") from None
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            output = net(torch.zeros(2, *image_shape))
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(
            f"{net_name} cannot take {data_name}'s {shape_text(image_shape)} images: {reason}"
        ) from None
    finally:
        net.train(was_training)
    expected = (2, num_classes)
    if output.ndim == 2 and tuple(output.shape) != expected:  # a classifier's logits
        raise ConfigError(
            f"{net_name} gives {output.shape[1]} outputs but {data_name} has {num_classes} "
            f"classes: set model.net.num_classes={num_classes}"
        )
