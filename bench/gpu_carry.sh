#!/usr/bin/env bash
# Fill bench/carry/ (git-ignored) with what bench/gpu_speed.py needs on the
# GPU machine, which has torch and transformers but no network:
#   bench/carry/common   the Llama-2 tokenizer and the MMLU dev+test CSVs (~7 MB)
#   bench/carry/bnb      the bitsandbytes wheel, for --load-in-4bit (~41 MB)
#   bench/carry/lmeval   lm-evaluation-harness 0.4.13 and the dependencies the
#                        GPU image lacks, for the lm-eval baseline (~14 MB)
# Each device call names the folders it needs in `carry` (64 MiB at most per
# call, so bnb and lmeval go in different calls); bench/README.md has the calls.
# Usage: bench/gpu_carry.sh [SHARED_DATA_DIR]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
PIP="${PIP:-.venv/bin/python -m pip}"
OUT=bench/carry
rm -rf "$OUT"
mkdir -p "$OUT/common/mmlu" "$OUT/bnb" "$OUT/lmeval"
cp -r "$DATA/llama2_tokenizer" "$OUT/common/"
cp -r "$DATA/mmlu/dev" "$DATA/mmlu/test" "$OUT/common/mmlu/"
# The GPU image runs Python 3.12 on x86_64: ask for its wheels explicitly.
TARGET=(--python-version 3.12 --only-binary=:all:)
for tag in manylinux_2_28 manylinux_2_24 manylinux_2_17 manylinux2014; do TARGET+=(--platform "${tag}_x86_64"); done
$PIP download --quiet --no-deps "${TARGET[@]}" -d "$OUT/bnb" bitsandbytes==0.50.2
$PIP download --quiet --no-deps "${TARGET[@]}" -d "$OUT/lmeval" \
    lm-eval==0.4.13 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 evaluate==0.4.6 \
    more_itertools==11.2.1 pytablewriter==1.2.1 DataProperty==1.1.1 mbstrdecoder==1.1.5 \
    pathvalidate==3.3.1 tabledata==1.3.5 tcolorpy==0.1.7 typepy==2.0.0 chardet==5.2.0 nltk==3.10.4 defusedxml==0.7.1
# Three of lm-eval's dependencies exist only as source archives; they build offline.
$PIP download --quiet --no-deps --no-binary=:all: -d "$OUT/lmeval" rouge-score==0.1.2 sqlitedict==2.1.0 word2number==1.1
du -sh "$OUT"/*
