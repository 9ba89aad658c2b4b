"""The image shape and class count a model is built for, without loading data when the data
config states them.

Every data config but `image_folder`'s states `image_shape` and `num_classes` (the datamodule
checks them against the data when it loads), and every checkpoint's saved data config has both.
Inspecting or exporting a model then needs no dataset on the machine; only where one of them is
null is the data loaded to learn it.
"""

from omegaconf import DictConfig

from dlnotes.run.build import build_datamodule


def stated(data: DictConfig) -> tuple[tuple[int, int, int], int] | None:
    """The data config's (image_shape, num_classes) when both are set, else None."""
    shape, classes = data.get("image_shape"), data.get("num_classes")
    if shape is None or classes is None or any(size is None for size in shape):
        return None
    return tuple(int(size) for size in shape), int(classes)


def data_shape(cfg: DictConfig) -> tuple[tuple[int, int, int], int]:
    """(image_shape, num_classes) from `cfg.data`; loads the data only when it does not say
    (and then fills them into `cfg.data`, as training does)."""
    known = stated(cfg.data)
    if known is not None:
        return known
    datamodule = build_datamodule(cfg)
    return tuple(datamodule.image_shape), datamodule.num_classes
