"""Log gradient norms before each optimizer step: the first sign of a run about to diverge.

Off by default (`callbacks.grad_norm.enabled=true` turns it on): computing them costs a pass
over all gradients each step. Logs `train/grad_<p>_norm_total`, and one value per parameter
tensor with `per_parameter=true`, from Lightning's `grad_norm`.
"""

from lightning.pytorch import Callback
from lightning.pytorch.utilities import grad_norm


class GradNormLogger(Callback):
    def __init__(self, enabled: bool = False, norm_type: float = 2.0, per_parameter: bool = False):
        self.enabled, self.norm_type, self.per_parameter = enabled, norm_type, per_parameter

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        if not self.enabled:
            return
        norms = grad_norm(pl_module, norm_type=self.norm_type)
        if not self.per_parameter:
            norms = {key: value for key, value in norms.items() if key.endswith("_total")}
        pl_module.log_dict({f"train/{key}": value for key, value in norms.items()})
