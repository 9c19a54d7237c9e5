#!/usr/bin/env bash
# The flexible GEMM engine against a systolic array of the same 8192 MACs on
# whole-model training steps (README "Whole models"): BERT-base (S=128) and
# GPT-2 (S=1024) at B=1 and B=8, on the treta preset's LPDDR4, or with
# `--hbm2` on HBM2 (B=8 GPT-2 left out there). Writes one report per run to OUT
# and prints the per-phase table (scripts/phase-summary.py): each model's
# flexible milliseconds and systolic ÷ flexible.
#
#   scripts/lm-comparison.sh OUT [--hbm2]     # ~8 min on 2 cores (LPDDR4)
set -euo pipefail
out=${1:?usage: scripts/lm-comparison.sh OUT [--hbm2]}
dram=()
runs=(bert_b1 bert_b8 gpt2_b1 gpt2_b8)
if [[ ${2:-} == --hbm2 ]]; then
  dram=(--set platform.dram.kind=hbm2)
  runs=(bert_b1 bert_b8 gpt2_b1)
fi
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/treta-vp}
[[ -n ${BIN:-} ]] || cargo build --release -q -p treta-vp
mkdir -p "$out"
args_of() {
  case $1 in
    bert_b1) echo scenarios/bert_base_training_step.yaml ;;
    bert_b8) echo scenarios/bert_base_training_step.yaml --set workload.batch=8 ;;
    gpt2_b1) echo scenarios/gpt2_training_step.yaml ;;
    # Its fp32 attention tensors (scores, probabilities and three gradients per
    # layer) need 34 GB of DRAM.
    gpt2_b8) echo scenarios/gpt2_training_step.yaml --set workload.batch=8 \
      --set platform.dram.bytes=68719476736 ;;
  esac
}
pairs=()
for run in "${runs[@]}"; do
  for arch in flexible systolic; do
    # shellcheck disable=SC2046
    "$bin" run $(args_of "$run") "${dram[@]}" --set platform.gemm.arch=$arch \
      --report "$out/${run}_$arch.json" -q
  done
  pairs+=("$out/${run}_systolic.json:$out/${run}_flexible.json")
done
python3 scripts/phase-summary.py "${pairs[@]}"
