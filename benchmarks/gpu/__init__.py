"""The GPU suite's parts (`python benchmarks/gpu_suite.py` is the command, and that script
keeps its arguments, `SECTIONS` and `main`): `common`, what every section shares (the sizes, the
run, GPU memory, the `python train.py` command runner); `throughput`, train.py's path against the
plain loop and its profile (ResNet50's and NIN's sections); one module per section, `resnet50`,
`nin`, `accuracy`, `ddp` and `data`; and `report`, the results as markdown."""
