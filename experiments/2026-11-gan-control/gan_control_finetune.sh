#!/bin/bash
# Where does the controlled model's speckle come from? Fine-tuning arms on the CPU from the same start — a
# controlled model's G_ema with a new discriminator trained 6 kimg against it (the README's arms started from the
# λ = 2 model's 240-kimg H100 snapshot; `start` without SNAPSHOT takes the bundled model, now 470 kimg) — one
# thread each (~70-85 s/kimg at 64x64 with two running):
#   tau06   τ⁺ = 0.2, τ⁻ = 0.6 for every attribute, as the model was trained (the control arm)
#   taumed  τ⁺ = 0.2, τ⁻_k = the real faces' median same-label distance (`ganeval control taus --control <the
#           seven>`, 600 faces at 64 px): pairs not sharing z^k need only be as far apart as two real faces of
#           the same label, so spreading faces of one label apart in M_k no longer pays (stopped at 25 kimg:
#           attributes collapse)
#   blur1   as tau06, with --control-blur 1: M_k sees the images low-passed, so pixel-scale texture cannot move it
#   twoset  as tau06, against two classifier sets at once (--control-net synthfaces-classifiers,
#           synthfaces-classifiers-b: the mean of their losses), so a cue only one set reads does not pay (the
#           bundled model's last 60 kimg went on from tau06's 170-kimg snapshot this way)
# From the repository root (bash experiments/2026-11-gan-control/gan_control_finetune.sh ...):
#   start [SNAPSHOT]          the fine-tuning start ($RUNS/start.pt)
#   arms [NAME..]             the arms (all, or the named) in the background (logs in $RUNS); stop them with
#                             pkill -f 'name NAME'
#   eval RUN_DIR KIMG | eval SNAPSHOT TAG
#                             encoders (as tools/make_bundle.py), `control evaluate` (300 samples, every judge),
#                             `control taus --generator`, fd_synth (2000 vs synthfaces:5000?res=64)
#   judge RUN_DIR KIMG..      only the encoders and `control evaluate` per snapshot, then one row per snapshot: the
#                             judge's accuracy per attribute, its mean and how many reach 0.9, each training set's
#                             mean and count (the README's snapshot table; 2-2.5 min per snapshot)
set -eu
RUNS=${RUNS:-/tmp/gan_control_finetune}
PY=${PY:-.venv/bin/python}
GANEVAL=${GANEVAL:-.venv/bin/ganeval}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
ATTRS=smiling,black-hair,big-nose,pointy-nose,wavy-hair,arched-eyebrows,bags-under-eyes
TAUMED=0.2,0.0171,0.2,0.0253,0.2,0.0969,0.2,0.0183,0.2,0.108,0.2,0.0298,0.2,0.00992
mkdir -p "$RUNS"

snapshot() {   # snapshot RUN_DIR KIMG: the run's snapshot file at that kimg
  ls "$1"/network-snapshot-$(printf '%06.0f' "$2")*.pt | tail -1
}

judge_one() {   # judge_one SNAPSHOT TAG: encoders as make_bundle fits them, then control evaluate (training sets +
                #   the judge)
  "$GANEVAL" control train "$1" --out "$RUNS/$2-ctrl.pt" --samples 2000 --steps 500 --quiet --device cpu
  "$GANEVAL" control evaluate "$RUNS/$2-ctrl.pt" --samples 300 --ls-samples 0 --device cpu \
    --out "$RUNS/$2-eval.csv" > "$RUNS/$2-eval.log"
}

case "${1:-}" in
start)
  $PY experiments/2026-11-gan-control/new_discriminator.py "${2:-pretrained/synthfaces-stylegan2-control.pt}" "$RUNS/start.pt" 6
  ;;
arms)
  # The bundled pair's settings (tools/train_gpu.sh), on the CPU with one data worker.
  export KIMG=5000 DEVICE=cpu
  source tools/train_gpu.sh   # COMMON (its --out is our $RUNS), PAIR, CONTROL
  COMMON="${COMMON/--workers 2/--workers 1}"
  for arm in "tau06:--control-tau 0.2,0.6" "taumed:--control-tau $TAUMED" "blur1:--control-tau 0.2,0.6 --control-blur 1" \
             "twoset:--control-tau 0.2,0.6 --control-net synthfaces-classifiers,synthfaces-classifiers-b"; do
    case " ${*:2} " in *" ${arm%%:*} "*|"  ") ;; *) continue ;; esac   # the named arms, or all
    setsid nohup "$GANEVAL" train --resume "$RUNS/start.pt" --arch stylegan2 --w-dim 128 $PAIR $CONTROL \
      --control-weight 2 $COMMON ${arm#*:} --tick 2 --snap 5 --name "${arm%%:*}" \
      > "$RUNS/${arm%%:*}.log" 2>&1 < /dev/null &
  done
  ;;
eval)
  if [ -f "${2:?RUN_DIR or SNAPSHOT}" ]; then
    snap=$2; tag=${3:?TAG}
  else
    snap=$(snapshot "$2" "${3:?KIMG}"); tag=$(basename "$2")-$3
  fi
  judge_one "$snap" "$tag"
  "$GANEVAL" control taus --control $ATTRS --generator "$snap" --tau 0.2,0.6 --samples 400 --device cpu \
    --out "$RUNS/$tag-taus.csv" > /dev/null
  "$GANEVAL" evaluate --ckpt "$RUNS/$tag-ctrl.pt" --metrics fd_synth --samples 2000 --data 'synthfaces:5000?res=64' \
    --device cpu --out "$RUNS/$tag-fd.csv" > "$RUNS/$tag-fd.log"
  ;;
judge)
  run=${2:?RUN_DIR}; shift 2
  for kimg in "${@:?KIMG..}"; do judge_one "$(snapshot "$run" "$kimg")" "$(basename "$run")-$kimg"; done
  $PY - "$RUNS" "$(basename "$run")" "$@" <<'PY'
import sys
import pandas as pd
runs, name, kimgs = sys.argv[1], sys.argv[2], sys.argv[3:]
for i, kimg in enumerate(kimgs):
    d = pd.read_csv(f"{runs}/{name}-{kimg}-eval.csv")
    d = d[d.metric == "control_accuracy"]
    acc = {n: g.set_index("attr").value for n, g in d.groupby("feature_net", sort=False)}
    judge = acc.pop("synthfaces-judge")
    each = judge.drop("ALL")
    if i == 0:
        print("kimg | " + " | ".join(f"judge: {a}" for a in each.index)
              + " | judge mean | judge >= 0.9 | training sets' means, >= 0.9")
    print(f"{kimg} | " + " | ".join(f"{v:.3f}" for v in each) + f" | {judge['ALL']:.3f} | {(each >= 0.9).sum()} | "
          + " / ".join(f"{t['ALL']:.3f}, {(t.drop('ALL') >= 0.9).sum()}" for t in acc.values()))
PY
  ;;
*)
  echo "usage: $0 start [SNAPSHOT] | arms [NAME..] | eval RUN_DIR KIMG | eval SNAPSHOT TAG | judge RUN_DIR KIMG.." >&2
  exit 2 ;;
esac
