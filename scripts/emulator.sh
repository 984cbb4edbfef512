#!/usr/bin/env bash
# Local AWS emulators for the tests and the demo: MiniStack (the project's
# emulator) and moto (a second, independent one the tests cross-check with).
#
#   scripts/emulator.sh [moto] install   create the emulator's venv with its pinned packages
#   scripts/emulator.sh [moto] start     start it on a free port of 127.0.0.1 (or reuse
#                                        the running one) and print its URL
#   scripts/emulator.sh [moto] stop      stop the one this state directory started
#   scripts/emulator.sh [moto] url       print the URL of the running one
#
# Without `moto` (or with `ministack`) the command is about MiniStack, in
# .venv/ with the aws CLI. `moto` is moto's server, in .venv-moto/: its own
# venv, because ministack pins botocore exactly and moto brings its own boto3
# and botocore.
#
# State (pid, url, log of each) lives in $MOBILE_BACKEND_EMULATOR_DIR, default
# .emulator/ at the repository root, so several emulators can run side by side.
set -euo pipefail

MINISTACK_VERSION=1.5.33
# aws CLI v1. From 1.46 on it vendors its own botocore, so it cannot clash
# with ministack's exact botocore pin in the same venv (`pip check` is clean).
AWSCLI_VERSION=1.46.3
MOTO_VERSION=5.2.6

root=$(cd "$(dirname "$0")/.." && pwd)
state_dir="${MOBILE_BACKEND_EMULATOR_DIR:-$root/.emulator}"
bind_host=127.0.0.1
start_timeout=30

emulator=ministack
if [[ $# -eq 2 ]]; then
    emulator=$1
    shift
fi
case "$emulator" in
    ministack)
        label=MiniStack
        venv="$root/.venv"
        requirements=("ministack==$MINISTACK_VERSION" "awscli==$AWSCLI_VERSION")
        programs=(ministack aws)
        # The process's command line holds this (a reused PID does not).
        process_mark=ministack
        health_path=/_ministack/health
        pid_file="$state_dir/pid"
        url_file="$state_dir/url"
        log_file="$state_dir/ministack.log"
        ;;
    moto)
        label=moto
        venv="$root/.venv-moto"
        requirements=("moto[server]==$MOTO_VERSION")
        programs=(moto_server)
        process_mark=moto_server
        # The dashboard: a static page, served once the server is up.
        health_path=/moto-api/
        pid_file="$state_dir/moto.pid"
        url_file="$state_dir/moto.url"
        log_file="$state_dir/moto.log"
        ;;
    *)
        echo "usage: $0 [ministack|moto] install|start|stop|url" >&2
        exit 2
        ;;
esac
# What the stamp file records: the venv holds exactly these pins.
pins="${requirements[*]}"
stamp="$venv/.mobile-backend-pins"

die() {
    echo "emulator.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 [ministack|moto] install|start|stop|url" >&2
    exit 2
}

installed() {
    local program
    [[ -x "$venv/bin/python" ]] || return 1
    for program in "${programs[@]}"; do
        [[ -x "$venv/bin/$program" ]] || return 1
    done
    [[ -f "$stamp" && "$(cat "$stamp")" == "$pins" ]] \
        && "$venv/bin/python" -c '' 2>/dev/null
}

cmd_install() {
    if installed; then
        return 0
    fi
    local python=${PYTHON:-python3}
    command -v "$python" >/dev/null || die "$python not found (CPython >= 3.10 is needed)"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || die "$python is older than 3.10, which $pins needs"

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
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
        --quiet "${requirements[@]}" >"$out" 2>&1; then
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

# True when $1 is a live (not zombie) process of this emulator.
is_emulator() {
    local pid=$1 state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r "/proc/$pid/stat" ]]; then
        state=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)
        [[ "$state" != Z ]] || return 1
        # A PID reused by some other program after a reboot is not ours.
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$process_mark" || return 1
    fi
    return 0
}

healthy() {
    local url=$1
    if command -v curl >/dev/null; then
        curl -fsS -m 2 -o /dev/null "$url$health_path" 2>/dev/null
    else
        "$venv/bin/python" - "$url$health_path" <<'EOF' 2>/dev/null
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
    if is_emulator "$pid" && healthy "$url"; then
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
    is_emulator "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        is_emulator "$pid" || return 0
        sleep 0.1
    done
    echo "emulator.sh: $label (pid $pid) did not stop on SIGTERM, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        is_emulator "$pid" || return 0
        sleep 0.1
    done
    die "$label (pid $pid) is still running"
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
        if [[ $emulator == moto ]]; then
            nohup "$venv/bin/moto_server" -H "$bind_host" -p "$port" \
                </dev/null >"$log_file" 2>&1 &
        else
            # BIND_HOST defaults to 0.0.0.0: always set it.
            BIND_HOST=$bind_host GATEWAY_PORT=$port \
                nohup "$venv/bin/ministack" </dev/null >"$log_file" 2>&1 &
        fi
        pid=$!
        echo "$pid" >"$pid_file"
        echo "$url" >"$url_file"
        local deadline=$((SECONDS + start_timeout))
        while ((SECONDS < deadline)); do
            if healthy "$url"; then
                echo "$url"
                return 0
            fi
            if ! is_emulator "$pid"; then
                break
            fi
            sleep 0.1
        done
        if is_emulator "$pid"; then
            echo "emulator.sh: $label did not answer $url$health_path within ${start_timeout}s" >&2
            stop_pid "$pid"
            rm -f "$pid_file" "$url_file"
            break
        fi
        rm -f "$pid_file" "$url_file"
        if grep -q "already in use" "$log_file" 2>/dev/null && ((attempt < 3)); then
            continue
        fi
        echo "emulator.sh: $label exited during start-up" >&2
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
    local start_command="$0 start"
    [[ $emulator == moto ]] && start_command="$0 moto start"
    running_url || die "no $label is running for $state_dir (start one with: $start_command)"
}

[[ $# -eq 1 ]] || usage
case "$1" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    *) usage ;;
esac
