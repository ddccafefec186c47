#!/bin/bash
# What GAN-Control's contrastive pass costs per kimg: the bundled pair's settings (tools/train_gpu.sh: 64x64,
# minibatch 64; the controlled one with λ = 2) trained for a few kimg with and without --control, one after the
# other on an otherwise idle device, sec/kimg of the last tick each. On the H100 (three runs sharing it) the pair
# ran at 4.1-4.5 vs 6.4-6.8 s/kimg.
#   bash experiments/2026-11-gan-control/gan_control_speed.sh [KIMG] [DEVICE]   (from the repository root)
# Defaults: 8 kimg, cuda.
set -eu
KIMG=${1:-8}
DEVICE=${2:-cuda}
RUNS=${OUT:-/tmp/gan_control_speed}
rm -rf "$RUNS"; mkdir -p "$RUNS"
source tools/train_gpu.sh   # COMMON (with KIMG, DEVICE, RUNS), PAIR, CONTROL, PY
for name in plain control; do
  extra=""; [ "$name" = control ] && extra="$CONTROL --control-weight 2"
  # ganeval from this checkout, installed or not (a GPU machine has no install); later options win: a status
  # line every 2 kimg, no snapshots
  PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 $PY -m ganeval train --arch stylegan2 --w-dim 128 \
    $PAIR $extra $COMMON --tick 2 --snap 0 --name "$name" > "$RUNS/$name.log" 2>&1
  printf '%-8s %s\n' "$name" "$(grep -E '^tick' "$RUNS/$name.log" | tail -1 | grep -oE 'sec/kimg +[0-9.]+')"
done
