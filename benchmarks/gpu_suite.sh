#!/usr/bin/env bash
# The GPU suite (benchmarks/gpu_suite.py): PPL against stylegan2-ada-pytorch's PPLSampler (FD at its batch and at
# ganeval's, JVP fp32 and bf16), the LS protocol stage by stage, FID50k images/s, on one GPU in ~5 minutes, with
# the targets checked and printed. CSV rows on stdout, progress on stderr, and $OUT/gpu_suite.csv when OUT is set
# (rewritten after each section, so a run cut short keeps what it measured).
#
#   STYLEGAN2_ADA_DIR=/path/to/stylegan2-ada-pytorch OUT=/tmp/out bash benchmarks/gpu_suite.sh
#   CPU=1 bash benchmarks/gpu_suite.sh        # dry run on the CPU: tiny sizes, every code path but CUDA's
#
# Environment:
#   STYLEGAN2_ADA_DIR     an unmodified checkout of https://github.com/NVlabs/stylegan2-ada-pytorch (no internet on
#                         the GPU machine: fetch it beforehand); absent, the reference arm is skipped and said so
#   OUT                   folder for gpu_suite.csv
#   CPU=1                 the dry run (--dry-run)
#   PYTHON                interpreter (default: the repository's .venv/bin/python, else python3)
#   GPU_SUITE_TIMEOUT_S   hard limit of the whole run (default 540); GPU_SUITE_DEADLINE_S: no section starts later
#                         than this (default 450)
#   GPU_SUITE_REF_PLUGINS=0  do not build the reference's CUDA plugins (bias_act, upfirdn2d; needs nvcc and ninja,
#                         a minute or two): it then runs its plain PyTorch ops, as it does when the build fails
# Extra arguments go to gpu_suite.py (--sections ppl,ls,fid, --reps N, --arm-s S).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
if [ ! -x "$PY" ]; then PY=python3; fi
args=()
if [ "${CPU:-0}" = 1 ]; then args+=(--dry-run); fi
if [ -z "${STYLEGAN2_ADA_DIR:-}" ] || [ ! -f "${STYLEGAN2_ADA_DIR}/training/networks.py" ]; then
    echo "gpu_suite: STYLEGAN2_ADA_DIR=${STYLEGAN2_ADA_DIR:-(unset)} is not a stylegan2-ada-pytorch checkout" \
         "(training/networks.py missing): the reference PPL arm will be skipped. Fetch" \
         "https://github.com/NVlabs/stylegan2-ada-pytorch and set STYLEGAN2_ADA_DIR to it." >&2
fi
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec timeout --kill-after=10 "${GPU_SUITE_TIMEOUT_S:-540}" "$PY" benchmarks/gpu_suite.py ${args[@]+"${args[@]}"} "$@"
