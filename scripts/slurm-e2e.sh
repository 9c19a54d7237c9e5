#!/usr/bin/env bash
# End to end on a real Slurm: starts the single-node cluster (scripts/slurm-local.sh),
# submits a small sweep as a job array (`sweep --slurm`, two points per task; the
# three points with 16 MiB of DRAM fail, which must give error rows, not lost
# points), waits for its collect step, and checks that results.csv equals the same
# sweep run locally, byte for byte; then removes one point's result, resubmits (the
# array covers that point only) and checks again. Usage: scripts/slurm-e2e.sh [TRETA_VP]
set -euo pipefail
cd "$(dirname "$0")/.."
exe=${1:-target/release/treta-vp}
bash scripts/slurm-local.sh start
trap 'bash scripts/slurm-local.sh stop' EXIT
work=$(mktemp -d)
sweep=("$exe" sweep scenarios/gemm_single.yaml
       --param platform.gemm.rows=16,32,64 --param platform.dram.bytes=1073741824,16777216)
# A sweep with failed points exits 2 having written its tables (so does its
# collect step, and `sbatch --wait` with it); any other status is a failure.
exits_2() {
  local status=0
  "$@" || status=$?
  [ "$status" -eq 2 ]
}

"${sweep[@]}" --out "$work/slurm" --slurm --slurm-chunk 2 --slurm-time 00:10:00
grep -q -- '--array=0-2' "$work/slurm/slurm/array.sbatch"
exits_2 bash "$work/slurm/slurm/submit.sh" --wait
exits_2 "${sweep[@]}" --out "$work/local" -q
cmp "$work/slurm/results.csv" "$work/local/results.csv"
[ "$(grep -c ',error: workload: the tensors do not fit' "$work/slurm/results.csv")" = 3 ]
echo "slurm sweep: results.csv equals the local sweep's ($(($(wc -l < "$work/local/results.csv") - 1)) points, 3 error rows)"

# A re-submission runs only what is missing.
rm "$work/slurm/points/3.json" "$work/slurm/results.csv"
"${sweep[@]}" --out "$work/slurm" --slurm --slurm-chunk 2 --slurm-time 00:10:00
grep -q '^POINTS=(3)$' "$work/slurm/slurm/array.sbatch"
exits_2 bash "$work/slurm/slurm/submit.sh" --wait
cmp "$work/slurm/results.csv" "$work/local/results.csv"
echo "slurm re-submission: point 3 only, results.csv equal again"
