"""`hydra/sweeper=optuna`: the project's Optuna sweeper, as a Hydra plugin.

Hydra finds sweepers in the `hydra_plugins` namespace package; the sweep itself lives in
`dlnotes/sweeps/optuna_sweep.py`, its settings in conf/hydra/sweeper/optuna.yaml.
"""

import sys

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


class OptunaSweeper(Sweeper):
    def __init__(self, **settings) -> None:
        self.settings = OmegaConf.create(settings)
        self.config: DictConfig | None = None
        self.launcher = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]):
        from dlnotes.errors import ConfigError
        from dlnotes.sweeps import optuna_sweep
        from dlnotes.sweeps.study_report import report_study

        try:
            sweep = optuna_sweep.prepare(
                self.settings, self.config, arguments, self.validate_batch_is_legal
            )
        except ConfigError as error:  # before any trial: one line, as the command line says it
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)
        try:
            return optuna_sweep.run(sweep, self.launcher)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)
        finally:
            report_study(sweep, self.config)
