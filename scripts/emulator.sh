#!/usr/bin/env bash
# Local AWS emulator (MiniStack) for the tests and the demo.
#
#   scripts/emulator.sh install   create .venv with the pinned ministack and aws CLI
#   scripts/emulator.sh start     start MiniStack on a free port of 127.0.0.1 (or
#                                 reuse the running one) and print its URL
#   scripts/emulator.sh stop      stop the MiniStack this state directory started
#   scripts/emulator.sh url       print the URL of the running MiniStack
#
# State (pid, url, log) lives in $MOBILE_BACKEND_EMULATOR_DIR, default .emulator/
# at the repository root, so several emulators can run side by side.
set -euo pipefail

MINISTACK_VERSION=1.5.33
# aws CLI v1. From 1.46 on it vendors its own botocore, so it cannot clash
# with ministack's exact botocore pin in the same venv (`pip check` is clean).
AWSCLI_VERSION=1.46.3

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
stamp="$venv/.mobile-backend-pins"
pins="ministack==$MINISTACK_VERSION awscli==$AWSCLI_VERSION"
state_dir="${MOBILE_BACKEND_EMULATOR_DIR:-$root/.emulator}"
pid_file="$state_dir/pid"
url_file="$state_dir/url"
log_file="$state_dir/ministack.log"
bind_host=127.0.0.1
start_timeout=30

die() {
    echo "emulator.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 install|start|stop|url" >&2
    exit 2
}

installed() {
    [[ -x "$venv/bin/python" && -x "$venv/bin/ministack" && -x "$venv/bin/aws" ]] \
        && [[ -f "$stamp" && "$(cat "$stamp")" == "$pins" ]] \
        && "$venv/bin/python" -c '' 2>/dev/null
}

cmd_install() {
    if installed; then
        return 0
    fi
    local python=${PYTHON:-python3}
    command -v "$python" >/dev/null || die "$python not found (CPython >= 3.10 is needed)"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || die "$python is older than 3.10, which awscli $AWSCLI_VERSION needs"

    local out
    out=$(mktemp)
    # A venv whose interpreter no longer runs (moved repo, removed python) is rebuilt.
    if [[ -d "$venv" ]] && ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
        rm -rf "$venv"
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        if ! "$python" -m venv "$venv" >"$out" 2>&1; then
            cat "$out" >&2
            rm -f "$out"
            die "could not create the venv $venv"
        fi
    fi
    rm -f "$stamp"
    # shellcheck disable=SC2086 # $pins is a list of requirement words
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
        --quiet $pins >"$out" 2>&1; then
        cat "$out" >&2
        rm -f "$out"
        die "pip could not install $pins"
    fi
    if ! "$venv/bin/python" -m pip check --disable-pip-version-check >"$out" 2>&1; then
        cat "$out" >&2
        rm -f "$out"
        die "the venv has conflicting dependencies after installing $pins"
    fi
    rm -f "$out"
    printf '%s' "$pins" >"$stamp"
}

# True when $1 is a live (not zombie) MiniStack process.
is_ministack() {
    local pid=$1 state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r "/proc/$pid/stat" ]]; then
        state=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)
        [[ "$state" != Z ]] || return 1
        # A PID reused by some other program after a reboot is not ours.
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ministack || return 1
    fi
    return 0
}

healthy() {
    local url=$1
    if command -v curl >/dev/null; then
        curl -fsS -m 2 -o /dev/null "$url/_ministack/health" 2>/dev/null
    else
        "$venv/bin/python" - "$url/_ministack/health" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()
EOF
    fi
}

# Prints the URL of the emulator recorded in the state dir, if it is up.
running_url() {
    [[ -f "$pid_file" && -f "$url_file" ]] || return 1
    local pid url
    pid=$(cat "$pid_file")
    url=$(cat "$url_file")
    if is_ministack "$pid" && healthy "$url"; then
        echo "$url"
    else
        return 1
    fi
}

free_port() {
    "$venv/bin/python" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

stop_pid() {
    local pid=$1 i
    is_ministack "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        is_ministack "$pid" || return 0
        sleep 0.1
    done
    echo "emulator.sh: MiniStack (pid $pid) did not stop on SIGTERM, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        is_ministack "$pid" || return 0
        sleep 0.1
    done
    die "MiniStack (pid $pid) is still running"
}

cmd_start() {
    cmd_install
    mkdir -p "$state_dir"
    local url pid port attempt
    if url=$(running_url); then
        echo "$url"
        return 0
    fi
    # Something stale: a dead or unhealthy process recorded here.
    if [[ -f "$pid_file" ]]; then
        stop_pid "$(cat "$pid_file")"
    fi
    rm -f "$pid_file" "$url_file"

    # The free port is only free until someone takes it: retry if we lose the race.
    for attempt in 1 2 3; do
        port=$(free_port)
        url="http://$bind_host:$port"
        BIND_HOST=$bind_host GATEWAY_PORT=$port \
            nohup "$venv/bin/ministack" </dev/null >"$log_file" 2>&1 &
        pid=$!
        echo "$pid" >"$pid_file"
        echo "$url" >"$url_file"
        local deadline=$((SECONDS + start_timeout))
        while ((SECONDS < deadline)); do
            if healthy "$url"; then
                echo "$url"
                return 0
            fi
            if ! is_ministack "$pid"; then
                break
            fi
            sleep 0.1
        done
        if is_ministack "$pid"; then
            echo "emulator.sh: MiniStack did not answer $url/_ministack/health within ${start_timeout}s" >&2
            stop_pid "$pid"
            rm -f "$pid_file" "$url_file"
            break
        fi
        rm -f "$pid_file" "$url_file"
        if grep -q "already in use" "$log_file" 2>/dev/null && ((attempt < 3)); then
            continue
        fi
        echo "emulator.sh: MiniStack exited during start-up" >&2
        break
    done
    echo "---- last lines of $log_file ----" >&2
    tail -n 30 "$log_file" >&2 || true
    exit 1
}

cmd_stop() {
    if [[ -f "$pid_file" ]]; then
        stop_pid "$(cat "$pid_file")"
    fi
    rm -f "$pid_file" "$url_file"
}

cmd_url() {
    running_url || die "no MiniStack is running for $state_dir (start one with: $0 start)"
}

[[ $# -eq 1 ]] || usage
case "$1" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    *) usage ;;
esac
