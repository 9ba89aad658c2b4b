#!/usr/bin/env bash
# GPU checks: NIN on one GPU (bf16) to accuracy, ResNet50 through trainer=ddp (SyncBatchNorm on)
# on all visible GPUs, and the generative models (VAE; GAN with domain FID when FID_CKPT names a
# feature classifier checkpoint). Prints times and test metrics.
# Usage: [ONLY=generative] [FID_CKPT=...] bash benchmarks/gpu_check.sh [DATA_DIR]
#   (MNIST in torchvision's layout under DATA_DIR)
set -euo pipefail
DATA=${1:-../shared/data}
LOGS=${LOGS:-/tmp/gpu_check}
common=(logger=csv callbacks.progress_bar=null paths.log_dir="$LOGS" data=mnist data.data_dir="$DATA")
nvidia-smi -L
python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__)"
run() {
  local start=$SECONDS
  python3 train.py "${common[@]}" "$@" 2>&1 | grep -E "test/(acc|recon_ratio|fid|d_real) |Error|error"
  echo "  ↳ $* : $((SECONDS - start)) s"
}
if [ "${ONLY:-}" != generative ]; then
  run trainer=gpu model=nin trainer.max_epochs=5 trainer.precision=bf16-mixed
  run trainer=gpu model=nin trainer.max_epochs=5
  run trainer=ddp model=resnet50 trainer.max_epochs=3 trainer.precision=bf16-mixed
fi
run trainer=gpu model=vae trainer.max_epochs=15 data.batch_size=64 trainer.precision=bf16-mixed
fid=()
[ -n "${FID_CKPT:-}" ] && fid=(model.fid_features="$FID_CKPT")
run trainer=gpu model=gan trainer.max_epochs=10 data.batch_size=64 trainer.precision=bf16-mixed "${fid[@]}"
