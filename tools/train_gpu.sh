#!/bin/bash
# Train the bundled synthfaces generators on one GPU (the exact commands behind the cards): the five of the
# mapping-depth study and the GAN-Control pair (stylegan2, stylegan2-control-w2); the two groups were trained in
# different sessions (`launch` with their names).
#   bash tools/train_gpu.sh launch [NAME..]      start the runs (all seven bundled ones, or the named ones, variants
#                                                below included) in the background (setsid), under $RUNS
#   bash tools/train_gpu.sh wait SECONDS         print progress every minute for SECONDS
#   bash tools/train_gpu.sh export DIR           stop nothing; write G_ema-only copies of the newest snapshot
#                                                common to each group, stats and logs, into DIR
#   bash tools/train_gpu.sh full DIR NAME..      the named runs whole (newest full snapshot with D and the
#                                                optimiser states, options, stats) as DIR/full-NAME.tar.part-a?
#                                                (15 MB pieces: the device tool brings back 16 MiB per file)
#   bash tools/train_gpu.sh resume DIR           put the full-*.tar pieces of DIR back together under $RUNS and
#                                                continue each run (same options, --kimg 5000) in the background
# Every run is time-boxed by whoever calls `wait`; `export` takes the largest kimg all runs of a group reached.
set -u
RUNS=${RUNS:-/tmp/gpu_runs}
PY=${PY:-python3}
# Identical for every model: data, sizes, logistic loss + R1 (gamma 1).
COMMON="--data synthfaces:70000?res=64 --z-dim 128 --channel-base 1024 --channel-max 128 \
--loss logistic --r1-gamma 1 --kimg ${KIMG:-5000} --tick 4 --snap 20 --keep 0 --seed 0 \
--workers 2 --device ${DEVICE:-cuda} --out $RUNS"
# The mapping-depth study (StyleGAN paper Table 4): minibatch 32 at every resolution, lr 0.002, progressive
# growing from 8x8, 10 kimg per level and fade.
GROW="--batch 32 --lr 0.002 --batch-dict 8:32,16:32,32:32,64:32 --start-res 8 --lod-kimg 10 --fade-kimg 10 --r1-interval 4"
# The GAN-Control pair (StyleGAN2 with and without --control): minibatch 64 with lr 0.0025 (NVIDIA's StyleGAN2-ADA
# 'paper256' setting): twice the pairs per step for the contrastive loss, twice the images per step.
PAIR="--batch 64 --lr 0.0025"
# GAN-Control: seven attributes every judge sees at 64x64 (`ganeval control taus`: AUC >= 0.95), 8-dim
# sub-vectors each, 72 dims for the rest. (Male never attached to its sub-vector in the earlier runs.)
CONTROL="--control smiling,black-hair,big-nose,pointy-nose,wavy-hair,arched-eyebrows,bags-under-eyes \
--control-dims 8,8,8,8,8,8,8,72 --control-tau 0.2,0.6"

run() {   # name, args...
  local name=$1; shift
  if [ ${#ONLY[@]} -gt 0 ] && [[ " ${ONLY[*]} " != *" $name "* ]]; then return; fi
  OMP_NUM_THREADS=1 setsid nohup $PY -m ganeval train "$@" $COMMON --name "$name" ${DRY:-} \
    > "$RUNS/$name.log" 2>&1 < /dev/null &
}

# Sourced (experiments/2026-11-gan-control/gan_control_speed.sh and gan_control_finetune.sh): the settings above
# and run() only.
[ "${BASH_SOURCE[0]}" != "$0" ] && return 0

case "${1:-}" in
launch)
  ONLY=("${@:2}")
  mkdir -p "$RUNS"
  for d in 0 1 2 8; do
    run stylegan-map$d --arch stylegan --mapping-depth $d --w-dim 128 --style-mixing 0.9 $GROW
  done
  run pggan --arch pggan $GROW
  run stylegan2 --arch stylegan2 --w-dim 128 $PAIR
  # The bundled synthfaces-stylegan2-control: contrastive weight λ = 2.
  run stylegan2-control-w2 --arch stylegan2 --w-dim 128 $PAIR $CONTROL --control-weight 2
  # Variants launched only when named: λ = 1 (trained beside the bundled pair); M_k = the classifiers'
  # probabilities (L1, τ 0.1/0.5) instead of their features; and λ = 2 with the two attributes that did not
  # attach (pointy nose, which went with the big-nose sub-vector, and arched eyebrows) replaced by big lips and
  # eyeglasses (`control taus` AUC 0.95 / 0.96).
  if [ ${#ONLY[@]} -gt 0 ]; then
    run stylegan2-control --arch stylegan2 --w-dim 128 $PAIR $CONTROL
    run stylegan2-control-prob --arch stylegan2 --w-dim 128 $PAIR $CONTROL --control-embedding prob \
      --control-distance l1 --control-tau 0.1,0.5
    run stylegan2-control-v3 --arch stylegan2 --w-dim 128 $PAIR --control-weight 2 --control-tau 0.2,0.6 \
      --control smiling,black-hair,big-nose,wavy-hair,bags-under-eyes,big-lips,eyeglasses \
      --control-dims 8,8,8,8,8,8,8,72
  fi
  ;;
wait)
  end=$(( $(date +%s) + ${2:-60} ))
  while [ "$(date +%s)" -lt "$end" ]; do
    sleep $(( end - $(date +%s) < 60 ? end - $(date +%s) : 60 ))
    echo "== $(date +%T)"
    for f in "$RUNS"/*.log; do printf '%-20s %s\n' "$(basename "$f" .log)" "$(grep -E '^tick|Error|error' "$f" | tail -1 | cut -c1-150)"; done
    if grep -l Traceback "$RUNS"/*.log; then tail -n 25 $(grep -l Traceback "$RUNS"/*.log); exit 1; fi
  done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
  ;;
export)
  # ganeval from this checkout, installed or not (the GPU machine has no install)
  PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" $PY tools/export_runs.py "$RUNS" "${2:?export DIR}"
  ;;
full)
  dir=${2:?full DIR NAME..}; mkdir -p "$dir"
  for name in "${@:3}"; do
    run=$(ls -d "$RUNS"/[0-9][0-9][0-9][0-9][0-9]-"$name" | tail -1)
    snap=$(ls "$run"/network-snapshot-*.pt | tail -1)
    tar -C "$RUNS" -cf - "$(basename "$run")/training_options.json" "$(basename "$run")/stats.jsonl" \
      "$(basename "$run")/$(basename "$snap")" | split -b 15M - "$dir/full-$name.tar.part-"
    echo "$name: $(basename "$snap") -> $(ls "$dir"/full-"$name".tar.part-* | wc -l) pieces"
  done
  ;;
resume)
  mkdir -p "$RUNS"
  for first in "${2:?resume DIR}"/full-*.tar.part-aa; do
    name=$(basename "$first" .tar.part-aa); name=${name#full-}
    cat "${first%aa}"* | tar -C "$RUNS" -xf -
    run=$(ls -d "$RUNS"/[0-9][0-9][0-9][0-9][0-9]-"$name" | tail -1)
    OMP_NUM_THREADS=1 setsid nohup $PY -m ganeval train --resume "$run" --out "$RUNS" --kimg ${KIMG:-5000} \
      --device ${DEVICE:-cuda} \
      > "$RUNS/$name.log" 2>&1 < /dev/null &
    echo "$name: resumed from $run"
  done
  ;;
*)
  echo "usage: $0 launch|wait SECONDS|export DIR|full DIR NAME..|resume DIR" >&2; exit 2 ;;
esac
