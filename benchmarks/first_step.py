"""A callback for benchmarks/startup.py: print the wall-clock time of the first training step
and end the process there (`+callbacks.first_step._target_=first_step.ExitAtFirstStep`)."""

import os
import sys
import time

import lightning as L


class ExitAtFirstStep(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        print(f"FIRST_STEP_AT {time.time():.6f}", flush=True)
        sys.stdout.flush()
        os._exit(0)
