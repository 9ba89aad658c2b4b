"""`model.compile=true`, the same for every task: each net is put through torch.compile in
place (`nn.Module.compile`), so its parameters, its state_dict keys and so its checkpoints are
the same compiled or not."""

from torch import nn

from dlnotes.errors import ConfigError


def compile_in_place(*nets: nn.Module) -> None:
    for net in nets:
        net.compile()


def refuse_compile(task: str, reason: str) -> None:
    raise ConfigError(f"model.compile=true is not supported for {task}: {reason}; leave it false")
