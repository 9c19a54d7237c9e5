#!/usr/bin/env bash
# Regenerates the C header and the CMSIS-SVD file under sdk/ from the abi crate
# (the one source of truth). The test platform/tests/sdk.rs fails when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p treta-vp -- export-abi \
  --c-header sdk/c/include/treta_abi.h --svd sdk/svd/treta.svd
echo "wrote sdk/c/include/treta_abi.h and sdk/svd/treta.svd"
