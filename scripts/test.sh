#!/usr/bin/env bash
# The project's test command: starts private local AWS emulators (MiniStack,
# and moto as a second, independent one), runs `cargo test` against them and
# stops them again, whatever happens.
#
#   scripts/test.sh [cargo test arguments...]
#
# The tests find MiniStack in MOBILE_BACKEND_TEST_ENDPOINT and share it, each
# under its own 12-digit access key (= its own account on MiniStack). The moto
# cross-checks (tests/emulator_moto.rs) find moto in
# MOBILE_BACKEND_TEST_MOTO_ENDPOINT; moto has one account for every key, so
# they share it under stack names of their own.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
emulator="$root/scripts/emulator.sh"

"$emulator" install
"$emulator" moto install

# shellcheck source=scripts/private-emulator.sh
source "$(dirname "${BASH_SOURCE[0]}")/private-emulator.sh"
private_emulator test

url=$("$emulator" start)
export MOBILE_BACKEND_TEST_ENDPOINT="$url"
echo "test.sh: local AWS emulator (MiniStack) at $url"
moto_url=$("$emulator" moto start)
export MOBILE_BACKEND_TEST_MOTO_ENDPOINT="$moto_url"
echo "test.sh: second local AWS emulator (moto) at $moto_url"

# The aws CLI of .venv, for the tests that check the CloudSearch stand-in
# against AWS's own client (tests/standin.rs).
export MOBILE_BACKEND_TEST_AWS_CLI="$root/.venv/bin/aws"

cd "$root"
status=0
cargo test "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "test.sh: cargo test exited $status; last lines of the emulator logs:" >&2
    for log in ministack.log moto.log; do
        echo "---- $log ----" >&2
        tail -n 40 "$state_dir/$log" >&2 || true
    done
fi
exit "$status"
