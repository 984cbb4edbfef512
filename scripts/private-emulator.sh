# Sourced by scripts/test.sh, bench.sh and demo.sh: gives the calling script
# emulators of its own (MiniStack, and moto for test.sh), whose state directory
# is removed and whose processes are stopped when the script exits, whatever
# happens.
#
#   source scripts/private-emulator.sh
#   private_emulator LABEL      sets state_dir (and MOBILE_BACKEND_EMULATOR_DIR)
#                               to a new temporary directory and the traps
#   url=$("$emulator" start)    then starts it, once the script is ready
#   moto_url=$("$emulator" moto start)   (test.sh) starts moto as well
#
# The caller sets `emulator` to scripts/emulator.sh first.

# shellcheck shell=bash
private_emulator() {
    # A state directory of our own, so no other emulator is ever touched.
    state_dir=$(mktemp -d "${TMPDIR:-/tmp}/mobile-backend-$1.XXXXXX")
    export MOBILE_BACKEND_EMULATOR_DIR="$state_dir"
    trap private_emulator_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# shellcheck disable=SC2317 # called by the EXIT trap
private_emulator_cleanup() {
    # Each stop is a no-op when that emulator was not started here.
    "$emulator" stop || true
    "$emulator" moto stop || true
    rm -rf "$state_dir"
}
