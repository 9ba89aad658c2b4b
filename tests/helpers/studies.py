"""Optuna sweeps in tests: a trial that takes ~3 s, and a study read from its journal file."""

from pathlib import Path

import optuna

from dlnotes.sweeps.study import load_study

# NIN learns in these 3 short epochs at lr 0.02 and not at 1e-12 (~3 s a trial)
LEARNS, STUCK = "0.02", "1e-12"
TRIAL = [
    "hparams_search=nin_optuna",
    "model.optimizer.weight_decay=0",
    "model.net.dropout=0",
    "data.batch_size=32",
    "data.image_size=16",
    "trainer=cpu",
    "trainer.max_epochs=3",
    "+trainer.limit_train_batches=20",
    "+trainer.limit_val_batches=2",
    "+trainer.limit_test_batches=1",
    "logger=csv",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
]
# where learning does not matter: 2 epochs of 4 batches (~1.5 s a trial)
QUICK_TRIAL = [
    *(o for o in TRIAL if not o.startswith(("trainer.max_epochs", "+trainer.limit_train"))),
    "trainer.max_epochs=2",
    "+trainer.limit_train_batches=4",
]
# the seeded TPE draws the learning rates in this order (its first trials are random)
LEARNS_THEN_STUCK = f"model.optimizer.lr=choice({LEARNS},{STUCK})"


def journal_study(path: Path, name: str = "nin_optuna") -> optuna.Study:
    return load_study(str(path), name)  # as the sweep opens a journal storage
