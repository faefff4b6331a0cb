#!/usr/bin/env bash
# The GPU bench, run ON the device machine from the repository root (see
# bench/README.md): installs calibkit and whatever bench/carry/ holds, with no
# network, then runs bench/gpu_speed.py once per case named, writing
# $OUT/<case>.json and $OUT/<case>.md.
# Cases: 7b-bf16 (with every baseline: needs carry/lmeval), 13b-bf16,
#        7b-4bit, 13b-4bit (need carry/bnb). Example: bench/gpu_run.sh 7b-bf16
# EXTRA_ARGS is appended to every gpu_speed.py call (the last value wins), e.g.
# a CPU smoke run: OUT=/tmp/o INSTALL=0 EXTRA_ARGS="--arch tiny --device cpu --limit 100" bench/gpu_run.sh 7b-bf16
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?run this through the device tool, which sets OUT}"
PY="${PYTHON:-python3}"
if [ "${INSTALL:-1}" = 1 ]; then  # INSTALL=0: the interpreter has calibkit and the baselines already
    extra=()
    for d in bench/carry/lmeval bench/carry/bnb; do
        if [ -d "$d" ]; then extra+=("$d"/*); fi
    done
    "$PY" -m pip install --quiet --no-deps --no-index --no-build-isolation -e . "${extra[@]}" 2>&1 \
        | grep -v '^WARNING' || true
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || true
common=(--data bench/carry/common/mmlu --tokenizer bench/carry/common/llama2_tokenizer)
for case in "$@"; do
    case "$case" in
        7b-bf16)  args=(--arch llama-2-7b --dtype bfloat16) ;;
        13b-bf16) args=(--arch llama-2-13b --dtype bfloat16 --baselines calibkit-no-cache --baseline-limit 300) ;;
        7b-4bit)  args=(--arch llama-2-7b --load-in-4bit --baselines calibkit-no-cache --baseline-limit 300) ;;
        13b-4bit) args=(--arch llama-2-13b --load-in-4bit --baselines "") ;;
        *) echo "unknown case $case (7b-bf16, 13b-bf16, 7b-4bit, 13b-4bit)" >&2; exit 2 ;;
    esac
    # shellcheck disable=SC2086  # EXTRA_ARGS is split on purpose
    "$PY" bench/gpu_speed.py "${args[@]}" "${common[@]}" --json "$OUT/$case.json" ${EXTRA_ARGS:-} | tee "$OUT/$case.md"
done
