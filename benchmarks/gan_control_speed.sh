#!/bin/bash
# What GAN-Control's contrastive pass costs per kimg: the bundled pair's settings (64x64, minibatch 64) trained
# for a few kimg with and without --control, one after the other on an otherwise idle device, sec/kimg of the
# last tick each. On the H100 (three runs sharing it) the pair ran at 4.1-4.5 vs 6.4-6.8 s/kimg.
#   bash benchmarks/gan_control_speed.sh [KIMG] [DEVICE]      defaults: 8 kimg, cuda
set -eu
KIMG=${1:-8}
DEVICE=${2:-cuda}
PY=${PY:-python3}
OUT=${OUT:-/tmp/gan_control_speed}
rm -rf "$OUT"; mkdir -p "$OUT"
ARGS="--arch stylegan2 --w-dim 128 --batch 64 --lr 0.0025 --data synthfaces:70000?res=64 --z-dim 128 \
--channel-base 1024 --channel-max 128 --loss logistic --r1-gamma 1 --kimg $KIMG --tick 2 --snap 0 --seed 0 \
--workers 2 --device $DEVICE --out $OUT"
CONTROL="--control smiling,black-hair,big-nose,wavy-hair,bags-under-eyes,big-lips,eyeglasses \
--control-dims 8,8,8,8,8,8,8,72 --control-tau 0.2,0.6 --control-weight 2"
for name in plain control; do
  extra=""; [ "$name" = control ] && extra=$CONTROL
  # ganeval from this checkout, installed or not (a GPU machine has no install)
  PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 $PY -m ganeval train $ARGS $extra --name "$name" \
    > "$OUT/$name.log" 2>&1
  printf '%-8s %s\n' "$name" "$(grep -E '^tick' "$OUT/$name.log" | tail -1 | grep -oE 'sec/kimg +[0-9.]+')"
done
