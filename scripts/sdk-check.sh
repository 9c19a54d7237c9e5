#!/usr/bin/env bash
# The firmware SDK end to end (docs/remote.md): builds the C client and example
# firmware with the system C compiler, runs the C firmware against `treta-vp serve`
# over a Unix socket twice (its numbers checked, both runs' reports and traces
# byte-identical), the Python example over TCP, then the Python client's tests.
# CI runs it after the test suite; needs cc, make and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -q -p treta-vp
vp=target/release/treta-vp
scenario=scenarios/remote_gemms.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== C: client library and example firmware (cc $(cc -dumpversion))"
make -s -C sdk/c BUILD="$work/c"

# Serves one run on $1 (an endpoint) into $2 (a prefix), with $3... as the client.
serve_and_run() {
  local endpoint=$1 out=$2
  shift 2
  "$vp" serve "$scenario" --listen "$endpoint" --report "$out.report.json" \
    --trace "$out.trace.json" -q 2>"$out.serve.log" &
  local server=$!
  local client=0
  "$@" "$endpoint" || client=$?
  local served=0
  wait "$server" || served=$?
  if [ "$client" -ne 0 ] || [ "$served" -ne 0 ]; then
    echo "client exited $client, server $served:" >&2
    cat "$out.serve.log" >&2
    exit 1
  fi
}

for run in 1 2; do
  serve_and_run "unix:$work/vp$run.sock" "$work/c$run" "$work/c/gemm_ring"
done
cmp "$work/c1.report.json" "$work/c2.report.json"
cmp "$work/c1.trace.json" "$work/c2.trace.json"
echo "two C runs: reports and traces byte-identical"

echo "== Python example over TCP (python3 $(python3 -c 'import platform; print(platform.python_version())'))"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
serve_and_run "tcp:127.0.0.1:$port" "$work/py" python3 sdk/python/examples/gemm_ring.py

echo "== Python client tests"
TRETA_VP="$vp" python3 -m unittest discover -s sdk/python/tests
