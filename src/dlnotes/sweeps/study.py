"""The Optuna study a sweep adds its trials to: opened or continued, and found again.

`optuna_study.json` in the sweep directory names the study's storage and name, so that the
sweep's summary (`sweeps/summary.py`) reads every trial of the study, those of earlier commands
included. A trial left running by a sweep that was killed is marked failed when the study is
continued, and its parameters are queued to run again (the new trial's user attribute
`retry_of` names it): it does not count toward `n_trials`, and stays in the study.
"""

import json
from pathlib import Path

from dlnotes.config.optuna_storage import open_storage
from dlnotes.errors import ConfigError

STUDY_FILE = "optuna_study.json"
JOURNAL_FILE = "optuna.log"  # the study's storage when none is given: a journal file
RETRY_OF = "retry_of"  # a trial's user attribute: the interrupted trial it runs again
ERROR = "error"  # a failed trial's user attribute: why it failed, in one line
FINISHED = ("COMPLETE", "PRUNED", "FAIL")  # TrialState names


def open_study(storage: str, name: str, directions: list[str], sampler, pruner):
    """Create the study, or load it with its trials when it exists."""
    import optuna  # imported only where a study is opened: sweeps and their trials

    study = optuna.create_study(
        storage=open_storage(storage),
        study_name=name,
        sampler=sampler,
        pruner=pruner,
        directions=directions,
        load_if_exists=True,
    )
    found = [d.name.lower() for d in study.directions]
    if found != directions:
        raise ConfigError(
            f"study {name!r} in {storage} optimizes {found}, not {directions}: give another"
            " hydra.sweeper.study_name or the study's direction"
        )
    return study


def load_study(storage: str, name: str):
    import optuna

    return optuna.load_study(study_name=name, storage=open_storage(storage))


def write_study_file(sweep_dir: Path, storage: str, name: str, objectives: list[str]) -> None:
    record = {"storage": storage, "study_name": name, "objectives": objectives}
    (Path(sweep_dir) / STUDY_FILE).write_text(json.dumps(record, indent=2) + "\n")


def read_study_file(sweep_dir: Path) -> dict | None:
    path = Path(sweep_dir) / STUDY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def fail_interrupted_trials(study) -> list[int]:
    """Trials a killed sweep left running: marked failed, their parameters queued again."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
    return [trial.number for trial in stale]


def interrupted_trials(trials: list) -> set[int]:
    """The trials another trial runs again: their sweep was killed while they ran."""
    return {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}


def trials_done(study) -> int:
    """Finished trials, those a killed sweep left (and that run again) aside."""
    trials = study.get_trials(deepcopy=False)
    retried = interrupted_trials(trials)
    return sum(t.state.name in FINISHED and t.number not in retried for t in trials)


def has_complete_trial(trials: list) -> bool:
    """Whether any trial completed: a study has a best trial (or a Pareto front) only then."""
    return any(t.state.name == "COMPLETE" for t in trials)


def trial_by_number(study, number: int):
    return next(t for t in study.get_trials(deepcopy=False) if t.number == number)
