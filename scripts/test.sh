#!/usr/bin/env bash
# The project's test command: starts a private local AWS emulator (MiniStack),
# runs `cargo test` against it and stops the emulator again, whatever happens.
#
#   scripts/test.sh [cargo test arguments...]
#
# The tests find the emulator in MOBILE_BACKEND_TEST_ENDPOINT and share it,
# each under its own 12-digit access key (= its own account on MiniStack).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
emulator="$root/scripts/emulator.sh"

"$emulator" install

# shellcheck source=scripts/private-emulator.sh
source "$(dirname "${BASH_SOURCE[0]}")/private-emulator.sh"
private_emulator test

url=$("$emulator" start)
export MOBILE_BACKEND_TEST_ENDPOINT="$url"
echo "test.sh: local AWS emulator (MiniStack) at $url"

cd "$root"
status=0
cargo test "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "test.sh: cargo test exited $status; last lines of the emulator log:" >&2
    tail -n 40 "$state_dir/ministack.log" >&2 || true
fi
exit "$status"
