#!/usr/bin/env bash
# Regenerates the reference logs kernel/tests/ieee1666.rs compares against: builds
# kernel/tests/systemc/conformance.cpp with Accellera SystemC (Debian's
# libsystemc-dev, 2.3.4; installed when missing) and writes each scenario's stdout
# to kernel/tests/systemc/SCENARIO.log.
#   scripts/systemc-conformance.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=kernel/tests/systemc
if [ ! -e /usr/include/systemc.h ]; then
  apt-get install -y libsystemc-dev >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y libsystemc-dev >/dev/null; }
fi
bin=$(mktemp -d)/conformance
g++ -O1 -std=c++17 -o "$bin" "$dir/conformance.cpp" -lsystemc
export SC_COPYRIGHT_MESSAGE=DISABLE
for s in delta_count init_phase self_notify delta_reverse delta_cancel zero_and_delta \
         one_event static_methods leave_others exit_on_starvation pause run_zero \
         wait_all next_trigger; do
  # Only the log lines: SystemC prints its warnings (W536, …) on stdout too.
  "$bin" "$s" 2>/dev/null | grep -E "^[0-9]+ [a-z]+ d[0-9]+ " > "$dir/$s.log"
  echo "$dir/$s.log: $(wc -l < "$dir/$s.log") lines"
done
echo "SystemC: $(dpkg-query -W -f='${Version}' libsystemc-dev 2>/dev/null || echo unknown)"
