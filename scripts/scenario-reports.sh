#!/usr/bin/env bash
# Runs every bundled scenario with a report and a trace into OUT (default
# target/scenario-reports), and `check --explain-plan --explain-mapping` on it;
# prints each run's exit status. Two such
# directories from two commits diff to nothing when a change moves no result:
#   scripts/scenario-reports.sh /tmp/before && ... && scripts/scenario-reports.sh /tmp/after
#   diff -r /tmp/before /tmp/after
# BIN overrides the binary (default: a release build of this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/scenario-reports}"
mkdir -p "$out"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p treta-vp
  BIN=target/release/treta-vp
fi
for s in scenarios/*.yaml; do
  name=$(basename "$s" .yaml)
  set +e
  "$BIN" run "$s" -q --report "$out/$name.report.json" --trace "$out/$name.trace.json" \
    >"$out/$name.stdout" 2>"$out/$name.stderr"
  rc=$?
  set -e
  echo "$rc" >"$out/$name.rc"
  set +e
  "$BIN" check "$s" --explain-plan --explain-mapping >"$out/$name.explain" 2>&1
  echo "$?" >>"$out/$name.rc"
  set -e
  echo "$name: exit $rc"
done
