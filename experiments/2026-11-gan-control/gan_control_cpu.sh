#!/bin/bash
# GAN-Control on the CPU at 32x32: the runs behind the README's CPU experiments (one thread each, ~50 s/kimg).
# From the repository root (bash experiments/2026-11-gan-control/gan_control_cpu.sh ...):
#   ab                      three 20-kimg arms from scratch: features / prob / features+augment
#   long KIMG               continue the features arm to KIMG (τ 0.2,0.6 for every attribute)
#   taulow KIMG             fork the features arm at 20 kimg with per-attribute thresholds
#                           τ⁺_k = median same-label distance, τ⁻_k = its lower quartile
#   eval RUN_DIR KIMG [SAMPLES]
#                           encoders + `control evaluate` (both judges) of one snapshot
# Runs go to $RUNS (default /tmp/gan_control_cpu); every command returns at once except eval (setsid, logs there).
set -eu
RUNS=${RUNS:-/tmp/gan_control_cpu}
GANEVAL=${GANEVAL:-.venv/bin/ganeval}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
COMMON="--data synthfaces:70000?res=32 --z-dim 128 --w-dim 128 --channel-base 1024 --channel-max 128 --batch 32 \
--loss logistic --lr 0.002 --r1-gamma 1 --tick 2 --snap 10 --keep 0 --seed 0 --workers 1 --device cpu --out $RUNS"
# Five attributes the classifiers see at 32 px (balanced accuracy 0.94-1.00) and wavy hair, which they do not (0.50).
CONTROL="--arch stylegan2 --control male,smiling,black-hair,wavy-hair,big-nose,pointy-nose --control-dims 8,8,8,8,8,8,80"
# From `ganeval control taus --control <the six> --data 'synthfaces:1000?res=32&seed=3'` (same-label median, q25).
TAULOW=0.135,0.069,0.033,0.013,0.025,0.011,0.219,0.106,0.147,0.076,0.029,0.014

bg() {   # name, args...
  local name=$1; shift
  mkdir -p "$RUNS"
  setsid nohup "$GANEVAL" train "$@" > "$RUNS/$name.log" 2>&1 < /dev/null &
}
snapshot() {   # run dir, kimg -> its snapshot file
  ls "$1"/network-snapshot-$(printf '%06.0f' "$2")*.pt | tail -1
}

case "${1:-}" in
ab)
  bg features $CONTROL --control-tau 0.2,0.6 $COMMON --kimg 20 --name features
  bg prob $CONTROL --control-embedding prob --control-distance l1 --control-tau 0.1,0.5 $COMMON --kimg 20 --name prob
  bg augment $CONTROL --control-tau 0.2,0.6 --control-augment 0.1 $COMMON --kimg 20 --name augment
  ;;
long)
  bg long --resume "$(ls -d "$RUNS"/*-features | head -1)" --kimg "${2:?KIMG}"
  ;;
taulow)
  bg taulow --resume "$(snapshot "$(ls -d "$RUNS"/*-features | head -1)" 20)" --control-tau $TAULOW \
    --kimg "${2:?KIMG}" --out "$RUNS" --name taulow
  ;;
eval)
  snap=$(snapshot "${2:?RUN_DIR}" "${3:?KIMG}")
  tag=$(basename "$2")-$3
  "$GANEVAL" control train "$snap" --out "$RUNS/$tag-ctrl.pt" --samples 1000 --steps 300 --quiet
  "$GANEVAL" control evaluate "$RUNS/$tag-ctrl.pt" --samples "${4:-300}" --ls-samples 0 --device cpu \
    --out "$RUNS/$tag-eval.csv"
  ;;
*)
  echo "usage: $0 ab | long KIMG | taulow KIMG | eval RUN_DIR KIMG [SAMPLES]" >&2; exit 2 ;;
esac
