"""Optuna's own matplotlib pictures of a study, in the sweep directory.

optimization_history.png (each trial's value and the best so far), param_importances.png
(fANOVA importance of each parameter) and slice.png (the value against each parameter); with
several objectives, each picture per objective (`<name>_<objective>.png`) and pareto_front.png.
A picture the study cannot give yet (importances need two finished trials) is skipped with a
line in the log.
"""

import logging
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, also on a machine without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna.visualization.matplotlib as optuna_plots  # noqa: E402

log = logging.getLogger(__name__)
logging.getLogger("matplotlib.category").setLevel(logging.WARNING)  # choice values as labels

PICTURES = {
    "optimization_history": optuna_plots.plot_optimization_history,
    "param_importances": optuna_plots.plot_param_importances,
    "slice": optuna_plots.plot_slice,
}


def draw_study_pictures(study, objectives: list[str], sweep_dir: Path) -> list[Path]:
    """Draw the pictures; return the files written."""
    written = []
    several = len(objectives) > 1
    for index, objective in enumerate(objectives):
        target = (lambda trial, i=index: trial.values[i]) if several else None
        suffix = f"_{_file_name(objective)}" if several else ""
        for name, plot in PICTURES.items():
            path = Path(sweep_dir) / f"{name}{suffix}.png"
            draw = lambda p=plot, t=target, o=objective: p(study, target=t, target_name=o)  # noqa: E731
            written += _draw(path, draw)
    if several:
        path = Path(sweep_dir) / "pareto_front.png"
        front = lambda: optuna_plots.plot_pareto_front(study, target_names=objectives)  # noqa: E731
        written += _draw(path, front)
    return written


def _draw(path: Path, plot) -> list[Path]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            axes = plot()
    except Exception as error:  # e.g. too few finished trials for importances
        log.info(f"{path.name}: not drawn ({str(error).strip().splitlines()[0]})")
        plt.close("all")
        return []
    figure = np.ravel(axes)[0].figure
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return [path]


def _file_name(objective: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", objective)
