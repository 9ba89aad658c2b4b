#!/usr/bin/env bash
# The GPU suite in one command: every figure of docs/benchmarks.md's GPU section, each beside its
# same-run baseline (benchmarks/gpu_suite.py), written to logs/gpu_suite/ and then into the docs.
# Usage: bash benchmarks/gpu_benchmark.sh [data_dir=../shared/data] [sections=...] [batch_resnet=256] ...
set -euo pipefail
nvidia-smi -L
python3 benchmarks/gpu_suite.py out=logs/gpu_suite "$@"
python3 benchmarks/gpu_suite.py docs_from=logs/gpu_suite
