#!/usr/bin/env bash
# The latency benchmark (BENCHMARKS.md): starts a private local AWS emulator
# (MiniStack), builds the tool as the tests do, runs tests/bench.rs against the
# emulator through the fault-injection proxy at 0 ms and 50 ms round trip,
# prints the Markdown table and stops the emulator again, whatever happens.
#
#   scripts/bench.sh
#
# Settings (environment), all optional:
#   MOBILE_BACKEND_BENCH_STACKS   photo-notes,mid,generated (default: all three)
#   MOBILE_BACKEND_BENCH_RTTS     round trips in ms (default: 0,50)
#   MOBILE_BACKEND_BENCH_AWS      the aws CLI (default: .venv/bin/aws; `none` skips it)
#   MOBILE_BACKEND_BENCH_OUT      where the report goes (default: target/bench/report.md)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
emulator="$root/scripts/emulator.sh"

"$emulator" install

# shellcheck source=scripts/private-emulator.sh
source "$(dirname "${BASH_SOURCE[0]}")/private-emulator.sh"
private_emulator bench

cd "$root"
# Build first, so compiling never overlaps the measurements.
cargo test --test bench --no-run

url=$("$emulator" start)
export MOBILE_BACKEND_TEST_ENDPOINT="$url"
echo "bench.sh: local AWS emulator (MiniStack) at $url" >&2

out=${MOBILE_BACKEND_BENCH_OUT:-$root/target/bench/report.md}
mkdir -p "$(dirname "$out")"
export MOBILE_BACKEND_BENCH_OUT="$out"
status=0
cargo test --test bench -- --ignored --nocapture --test-threads=1 >&2 || status=$?
if [[ $status -ne 0 ]]; then
    echo "bench.sh: the benchmark failed ($status); last lines of the emulator log:" >&2
    tail -n 40 "$state_dir/ministack.log" >&2 || true
    exit "$status"
fi
echo "bench.sh: report written to $out" >&2
echo "bench.sh: machine: $(nproc) cores, $(uname -sm)" >&2
cat "$out"
