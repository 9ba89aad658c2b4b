"""A callback for benchmarks/startup.py: print the wall-clock time of the first training step
and the heavy optional packages imported by then, and end the process there
(`+callbacks.first_step._target_=first_step.ExitAtFirstStep`)."""

import os
import sys
import time

import lightning as L

OPTIONAL = ("wandb", "optuna", "cv2", "pycocotools", "submitit")  # needed only when chosen


class ExitAtFirstStep(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        print(f"FIRST_STEP_AT {time.time():.6f}", flush=True)
        loaded = [name for name in OPTIONAL if name in sys.modules]
        print(f"OPTIONAL_LOADED {','.join(loaded) or '-'}", flush=True)
        sys.stdout.flush()
        os._exit(0)
