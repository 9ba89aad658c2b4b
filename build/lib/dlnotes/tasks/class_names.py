"""The names a task shows for its classes (per-class metrics, picture captions)."""


def class_names(configured: list[str] | None, trainer, num_classes: int) -> list[str]:
    """The config's names, else the datamodule's `class_names`, else the class numbers."""
    datamodule = getattr(trainer, "datamodule", None)
    return (
        configured
        or getattr(datamodule, "class_names", None)
        or [str(i) for i in range(num_classes)]
    )
