"""Every trial of an Optuna sweep's study as a row of the sweep's summary.

The rows come from the study (so a continued study's summary covers the trials of earlier
commands too), each joined with the result.json of the trial's run directory: its state
(completed, pruned with the epoch it stopped at, failed, interrupted: its sweep was killed and
the trial runs again), its sampled values, the metrics, and for several objectives whether it
is on the Pareto front.
"""

from pathlib import Path

from dlnotes.callbacks.optuna_pruning import OUTPUT_DIR, PRUNED_AT_EPOCH
from dlnotes.run.result import RESULT_FILE, read_job_result
from dlnotes.sweeps.override_text import override_value
from dlnotes.sweeps.study import (
    ERROR,
    has_complete_trial,
    interrupted_trials,
    load_study,
    read_study_file,
)

STATUS = {  # by Optuna's TrialState name (optuna is imported only where a study is read)
    "COMPLETE": "completed",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
}


def study_results(sweep_dir: Path) -> tuple[list[dict], str, list[str]] | None:
    """(one result per trial, a headline naming the best trial or the Pareto front, the
    objectives), or None when the sweep is not an Optuna study's."""
    record = read_study_file(sweep_dir)
    if record is None:
        return None
    study = load_study(record["storage"], record["study_name"])
    every = study.get_trials(deepcopy=False)
    trials = [t for t in every if t.state.name in STATUS]
    retried = interrupted_trials(every)
    best = {t.number for t in study.best_trials} if has_complete_trial(trials) else set()
    several = len(study.directions) > 1
    results = [_result(t, t.number in retried, t.number in best, several) for t in trials]
    return results, headline(study, record, trials, best), record["objectives"]


def _result(trial, interrupted: bool, best: bool, several: bool) -> dict:
    output_dir = trial.user_attrs.get(OUTPUT_DIR, "")
    path = Path(output_dir) / RESULT_FILE
    recorded = read_job_result(path) if output_dir and path.is_file() else {}
    status = "interrupted" if interrupted else STATUS[trial.state.name]
    result = {
        **recorded,
        "trial": trial.number,
        "overrides": [f"{key}={override_value(v)}" for key, v in trial.params.items()],
        "status": status,
        "error": trial.user_attrs.get(ERROR) or recorded.get("error"),
        "output_dir": output_dir,
    }
    if trial.state.name == "PRUNED":
        result[PRUNED_AT_EPOCH] = trial.user_attrs.get(PRUNED_AT_EPOCH)
    if several:
        result["pareto"] = "yes" if best else ""
    return result


def headline(study, record: dict, trials: list, best: set[int]) -> str:
    states = [STATUS.get(t.state.name) for t in trials]
    counts = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states))
    text = f"Study {record['study_name']} ({record['storage']}): {len(trials)} trials, {counts}."
    if not best:
        return text
    objectives = record["objectives"]
    if len(objectives) > 1:
        return text + f" Pareto front ({', '.join(objectives)}): trials {sorted(best)}."
    trial = study.best_trial
    values = " ".join(f"{key}={override_value(v)}" for key, v in trial.params.items())
    return text + f" Best: trial {trial.number}, {objectives[0]} = {trial.value:.4g} ({values})."
