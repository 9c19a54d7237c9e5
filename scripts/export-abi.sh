#!/usr/bin/env bash
# Regenerates the C header, the Python module and the CMSIS-SVD file under sdk/ from the abi crate
# (the one source of truth). The test platform/tests/sdk.rs fails when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p treta-vp -- export-abi \
  --c-header sdk/c/include/treta_abi.h --python sdk/python/treta_abi.py \
  --svd sdk/svd/treta.svd
echo "wrote sdk/c/include/treta_abi.h, sdk/python/treta_abi.py and sdk/svd/treta.svd"
