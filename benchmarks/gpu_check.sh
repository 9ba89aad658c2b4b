#!/usr/bin/env bash
# GPU checks of the foundation: NIN on one GPU (bf16) to accuracy, and ResNet50 through
# trainer=ddp (SyncBatchNorm on) on all visible GPUs. Prints times and test accuracies.
# Usage: bash benchmarks/gpu_check.sh [DATA_DIR]   (MNIST in torchvision's layout under DATA_DIR)
set -euo pipefail
DATA=${1:-../shared/data}
LOGS=${LOGS:-/tmp/gpu_check}
common=(logger=csv callbacks.progress_bar=null paths.log_dir="$LOGS" data=mnist data.data_dir="$DATA")
nvidia-smi -L
python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__)"
run() { local start=$SECONDS; python3 train.py "${common[@]}" "$@" 2>&1 | grep -E "test/acc |Error|error"; echo "  ↳ $* : $((SECONDS - start)) s"; }
run trainer=gpu model=nin trainer.max_epochs=5 trainer.precision=bf16-mixed
run trainer=gpu model=nin trainer.max_epochs=5
run trainer=ddp model=resnet50 trainer.max_epochs=3 trainer.precision=bf16-mixed
