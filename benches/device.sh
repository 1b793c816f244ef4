#!/usr/bin/env bash
# A prepared run for someone with ten minutes on a machine with a real GPU:
#
#   bash benches/device.sh            # the full run (about 5-10 minutes on a data-centre GPU)
#   bash benches/device.sh --quick    # a small run, only to check that everything works (lavapipe)
#
# It builds the release binary, then records: `wann gpu-info`; `wann bench` on the GPU (start, mid and
# champion-sized generations of 960 networks x 6 weights x 1000 images, the test-set workload, and the
# bred-generation workloads with and without deltas), with per-kernel GPU timestamps where the adapter
# supports TIMESTAMP_QUERY; the same workloads on the CPU of the same machine; a short paper-settings
# search on the GPU and on the CPU (seconds per generation and where they go); the GPU tests. Results go
# to $OUT (default: device-results/): one device.json with everything and a short summary.txt.
# MNIST must be in data/mnist (bash data/fetch.sh) or WANN_DATA. Nothing here needs the network
# beyond what cargo and data/fetch.sh need.
set -uo pipefail
cd "$(dirname "$0")/.."
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
OUT="${OUT:-device-results}"
mkdir -p "$OUT"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
log() { echo "[device.sh $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/log.txt" >&2; }

log "building (release)"
cargo build --release 2>>"$OUT/log.txt" || { log "build failed, see $OUT/log.txt"; exit 1; }
WANN=target/release/wann
if [ -z "${WANN_DATA:-}" ] && [ ! -d data/mnist ]; then
  log "fetching MNIST"; bash data/fetch.sh >>"$OUT/log.txt" 2>&1
fi

log "gpu-info"
"$WANN" gpu-info >"$OUT/gpu-info.txt" 2>&1

if [ "$QUICK" = 1 ]; then
  BENCH=(--population 16 --minibatch 128 --test-images 256 --repetitions 1 --warmup 1)
else
  BENCH=(--population 960 --minibatch 1000 --test-images 10000 --repetitions 5 --warmup 1)
fi
# The bred-generation workloads: a generation made by the search's own selection and mutation,
# timed with and without children as deltas of their parents in the same run (with deltas, both
# the GPU and the CPU run only each child's cone, reading its parent's values).
SIZES=start,mid,champion
log "bench on the GPU: ${BENCH[*]}"
"$WANN" bench --backend gpu --sizes "$SIZES" --bred none "${BENCH[@]}" --json \
  >"$OUT/bench-gpu.json" 2>>"$OUT/log.txt" || log "GPU bench failed (see $OUT/log.txt)"
log "bred generations on the GPU"
"$WANN" bench --backend gpu --sizes none --bred "$SIZES" "${BENCH[@]}" --json \
  >"$OUT/bench-gpu-generation.json" 2>>"$OUT/log.txt" || log "bred-generation workload failed (see $OUT/log.txt)"
log "bench on the CPU of the same machine"
CPU_BENCH=("${BENCH[@]}")
[ "$QUICK" = 0 ] && CPU_BENCH=(--population 960 --minibatch 1000 --test-images 10000 --repetitions 2 --warmup 1)
"$WANN" bench --backend cpu --sizes "$SIZES" --bred "$SIZES" "${CPU_BENCH[@]}" --json \
  >"$OUT/bench-cpu.json" 2>>"$OUT/log.txt" || log "CPU bench failed"

if [ "$QUICK" = 0 ]; then
  # The on-chip kernel against the scratch kernel alone and the other edge-loop form, same run.
  log "kernel comparison (throughput test, population 960)"
  WANN_THROUGHPUT_POPULATION=960 cargo test --release --test gpu -- --ignored --nocapture throughput \
    >"$OUT/kernel-comparison.txt" 2>&1 || log "kernel comparison failed"
fi
# A real search, GPU against the CPU of the same machine: the paper's settings from the start for a
# few hundred generations (start-sized networks), each generation's compile/eval/evolve split in
# its log.csv.
if [ "$QUICK" = 1 ]; then SEARCH=(--population 32 --generations 5); else SEARCH=(--generations 300); fi
for backend in gpu cpu; do
  log "search on the $backend: --preset paper ${SEARCH[*]}"
  rm -rf "$OUT/search-$backend"
  "$WANN" search --preset paper "${SEARCH[@]}" --seed 0 --backend "$backend" --quiet \
    --out "$OUT/search-$backend" >>"$OUT/log.txt" 2>&1 || log "search on the $backend failed (see $OUT/log.txt)"
done

log "GPU tests"
if [ "$QUICK" = 1 ]; then TESTS=(onchip_kernel_matches_cpu trusted_and_checked children_run_as_deltas champion_sized); else TESTS=(); fi
WANN_REQUIRE_GPU=1 cargo test --release --test gpu -- "${TESTS[@]}" >"$OUT/gpu-tests.txt" 2>&1
echo $? >"$OUT/gpu-tests.rc"

log "summary"
python3 benches/device_summary.py "$OUT" "$QUICK" >"$OUT/summary.txt" 2>>"$OUT/log.txt" ||
  log "python3 missing or failed: the raw files are in $OUT"
cat "$OUT/summary.txt" 2>/dev/null
log "done: $OUT/device.json, $OUT/summary.txt"
