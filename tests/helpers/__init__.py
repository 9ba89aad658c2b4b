"""What several test files share, as plain functions and constants (fixtures and hooks live in
tests/conftest.py). `pythonpath = ["tests"]` in pyproject.toml makes this package importable as
`helpers`; the `python train.py` subprocesses that tests start get tests/ on PYTHONPATH too, so
they can load the probes here (`_target_: helpers.probe_callbacks.X`)."""
