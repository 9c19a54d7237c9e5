#!/usr/bin/env bash
# Runs the six kernel benchmarks of SystemC 2.3.4 and of treta-kernel alternately,
# ROUNDS times each (default 5), and prints the median throughput of each and the
# ratio; with --callgrind, also instructions per event of ours under callgrind at N/100.
#   scripts/kernel-bench-compare.sh [ROUNDS] [--callgrind]
# Needs ../shared/bench/systemc beside the repository (builds SystemC's programs
# through its run.sh, which installs libsystemc-dev when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SHARED=../shared/bench/systemc
SCB=/tmp/systemc-bench
export SC_COPYRIGHT_MESSAGE=DISABLE
if [ ! -x "$SCB/bench_e_tlm_at" ]; then bash "$SHARED/run.sh" "$SCB" >/dev/null; fi
cargo build --release -q -p treta-kernel --example kernel_bench
OURS=target/release/examples/kernel_bench

sc_cmd() { case $1 in
  a_pingpong) echo "$SCB/bench_a_pingpong 10000000";;
  b_manywait) echo "$SCB/bench_b_manywait 1000";;
  c_fifo) echo "$SCB/bench_c_fifo 10000000";;
  d_tlm_lt_qk1us) echo "$SCB/bench_d_tlm_lt 10000000 qk";;
  d_tlm_lt_wait) echo "$SCB/bench_d_tlm_lt 10000000 wait";;
  e_tlm_at4) echo "$SCB/bench_e_tlm_at 1000000";;
esac; }
rate() { grep -oE '(events|activations|items|txn)_per_s=[0-9]+' | head -1 | cut -d= -f2; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf "%-16s %14s %14s %7s\n" bench systemc_per_s ours_per_s ratio
for b in a_pingpong b_manywait c_fifo d_tlm_lt_qk1us d_tlm_lt_wait e_tlm_at4; do
  sc=(); us=()
  for _ in $(seq "$ROUNDS"); do
    sc+=("$($(sc_cmd $b) | rate)")
    us+=("$($OURS $b | rate)")
  done
  msc=$(printf '%s\n' "${sc[@]}" | median); mus=$(printf '%s\n' "${us[@]}" | median)
  printf "%-16s %14s %14s %7.2f\n" "$b" "$msc" "$mus" "$(echo "$mus / $msc" | bc -l)"
done

if [ "${2:-}" = "--callgrind" ]; then
  echo
  printf "%-16s %10s %14s\n" bench N_small instr_per_event
  for b in a_pingpong b_manywait c_fifo d_tlm_lt_qk1us d_tlm_lt_wait e_tlm_at4; do
    case $b in b_manywait) n=10; events=442617;; e_tlm_at4) n=10000; events=10000;;
      a_pingpong) n=100000; events=200000;; *) n=100000; events=100000;; esac
    ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $OURS $b $n 2>&1 | grep -oE 'refs: +[0-9,]+' | tr -d ', ' | cut -d: -f2)
    # (b_manywait with P=10: 442,617 activations)
    printf "%-16s %10s %14.0f\n" "$b" "$n" "$(echo "$ir / $events" | bc -l)"
  done
fi
