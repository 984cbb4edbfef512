#!/usr/bin/env bash
# End-to-end demo, no AWS account needed: builds mobile-backend, starts a
# throw-away local AWS emulator (MiniStack) and walks the example stack
# stacks/photo-notes.toml through its whole life (validate, plan, a saved plan
# applied, outputs, drift, a stale saved plan refused, repair, destroy), running the real commands so you see their real output.
# Each step checks the exit code it expects and the demo stops loudly if one differs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
emulator=scripts/emulator.sh
stack=stacks/photo-notes.toml
table=photo-notes-notes
bucket=photo-notes-uploads-000000000000

# Credentials and region for the emulator: any key works, a 12-digit access key
# is the account id. Nothing from a real AWS setup may leak in.
while read -r var; do
    unset "$var"
done < <(compgen -e | grep -E '^AWS_(PROFILE|DEFAULT_PROFILE|SESSION_TOKEN|ENDPOINT_URL.*)$' || true)
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=000000000000
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 # the region variable of the aws CLI v1
export AWS_EC2_METADATA_DISABLED=true

step=0
step_title=setup

banner() {
    step=$((step + 1))
    step_title=$1
    printf '\n==> step %d: %s\n' "$step" "$1"
}

fail() {
    printf '\ndemo FAILED at step %d (%s): %s\n' "$step" "$step_title" "$*" >&2
    exit 1
}

# expect CODE cmd...: show the command, run it, and stop the demo unless it exits CODE.
expect() {
    local want=$1 got=0
    shift
    local arg line='$'
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
            line+=" $arg"
        else
            line+=" '${arg//\'/\'\\\'\'}'"
        fi
    done
    printf '\n%s\n' "$line"
    "$@" || got=$?
    if [[ $got -ne $want ]]; then
        fail "\`$*\` exited $got, expected $want"
    fi
    echo "[exit $got, as expected]"
}

# present yes|no: the table and the bucket exist (yes) or are both gone (no).
present() {
    local want=$1 tables buckets has_table=no has_bucket=no
    tables=$("${aws[@]}" dynamodb list-tables --query 'TableNames' --output text)
    buckets=$("${aws[@]}" s3api list-buckets --query 'Buckets[].Name' --output text)
    if grep -qw -- "$table" <<<"$tables"; then has_table=yes; fi
    if grep -qw -- "$bucket" <<<"$buckets"; then has_bucket=yes; fi
    [[ $has_table == "$want" ]] || fail "table $table: exists=$has_table, expected $want"
    [[ $has_bucket == "$want" ]] || fail "bucket $bucket: exists=$has_bucket, expected $want"
}

echo "==> setup: installing the local AWS emulator and the aws CLI into .venv"
"$emulator" install

echo "==> setup: building mobile-backend (cargo build)"
# The binary is wherever cargo puts it (CARGO_TARGET_DIR, build.target-dir):
# cargo's own build messages name it.
bin=$(cargo build --quiet --message-format=json-render-diagnostics \
    | .venv/bin/python -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and m["target"]["name"] == "mobile-backend"
            and "bin" in m["target"]["kind"] and m.get("executable")):
        print(m["executable"])
') || fail "cargo build failed"
[[ -n $bin && -x $bin ]] || fail "cargo build did not report the mobile-backend binary"
echo "    built $bin"

echo "==> setup: starting a fresh local AWS emulator, just for this demo"
# shellcheck source=scripts/private-emulator.sh
source "$(dirname "${BASH_SOURCE[0]}")/private-emulator.sh"
private_emulator demo
url=$("$emulator" start)
echo "    MiniStack listens on $url (account 000000000000, region us-east-1)"

mb=("$bin" --stack "$stack" --endpoint-url "$url")
aws=(.venv/bin/aws --endpoint-url "$url")

banner "validate: check $stack offline, before touching any AWS API"
expect 0 "${mb[@]}" validate

banner "plan: compare the stack with the (empty) account; exit code 2 means there are changes"
expect 2 "${mb[@]}" plan --detailed-exitcode

banner "up without --auto-approve and no terminal to answer: it must refuse and change nothing"
expect 1 "${mb[@]}" up </dev/null
expect 0 "${aws[@]}" dynamodb list-tables
expect 0 "${aws[@]}" s3api list-buckets
present no

banner "plan --markdown --out: the pull-request comment, and the plan saved for review (exit code 2: changes)"
expect 2 "${mb[@]}" plan --markdown --out "$state_dir/plan.json" --detailed-exitcode

banner "up --auto-approve plan.json: apply exactly the saved plan (it takes the stack lock, and ends with the outputs)"
expect 0 "${mb[@]}" up --auto-approve "$state_dir/plan.json"
present yes

banner "plan again: the account matches the stack, exit code 0 means no changes"
expect 0 "${mb[@]}" plan --detailed-exitcode --out "$state_dir/converged.json"

banner "outputs: the values an app needs, read from AWS (env format for a shell or CI)"
expect 0 "${mb[@]}" outputs --format env

banner "drift: someone changes the resources behind the tool's back, with the aws CLI"
expect 0 "${aws[@]}" s3api put-bucket-versioning --bucket "$bucket" \
    --versioning-configuration Status=Suspended
expect 0 "${aws[@]}" dynamodb update-table --table-name "$table" \
    --billing-mode PROVISIONED \
    --provisioned-throughput ReadCapacityUnits=5,WriteCapacityUnits=5 \
    --query 'TableDescription.BillingModeSummary'

banner "a plan saved before the drift is refused: AWS changed since it was made, so nothing is applied"
expect 1 "${mb[@]}" up --auto-approve "$state_dir/converged.json"

banner "plan: the drift shows up as changes (exit code 2)"
expect 2 "${mb[@]}" plan --detailed-exitcode

banner "up --auto-approve: put the resources back as the stack says"
expect 0 "${mb[@]}" up --auto-approve

banner "plan: no changes left (exit code 0)"
expect 0 "${mb[@]}" plan --detailed-exitcode

banner "destroy: a bucket with objects is not deleted unless you say --empty-buckets"
printf 'a note uploaded by the demo\n' >"$state_dir/hello.txt"
expect 0 "${aws[@]}" s3api put-object --bucket "$bucket" --key notes/hello.txt \
    --body "$state_dir/hello.txt"
expect 1 "${mb[@]}" destroy --auto-approve
expect 0 "${mb[@]}" destroy --auto-approve --empty-buckets

banner "check with the aws CLI that the table and the bucket are gone"
expect 0 "${aws[@]}" dynamodb list-tables
expect 0 "${aws[@]}" s3api list-buckets
present no

printf '\ndemo finished: all %d steps behaved as expected\n' "$step"
