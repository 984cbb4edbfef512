#!/usr/bin/env bash
# End-to-end demo, no AWS account needed: builds mobile-backend, starts a
# throw-away local AWS emulator (MiniStack, with AUTH=true so SigV4 and IAM
# are enforced) and the project's CloudSearch stand-in, and takes the AWS
# "Serverless Reference Architecture: Mobile Backend"
# (stacks/reference-architecture.toml) through its whole life: validate,
# plan, a saved plan applied, then the mobile app's own path using only the
# values `outputs` gives (guest credentials from the identity pool, a photo
# under its private/ prefix fetched back through the CDN, a signed POST
# /notes with the API key, the note found by GET /search once the stream
# function indexed it), a route added
# as one redeploy, drift, a stale saved plan refused, the repair, and
# destroy. It runs the real commands so you see their real output; each step
# checks its result and the demo stops loudly at the first mismatch.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
emulator=scripts/emulator.sh

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

# json FILE PATH...: one value of a JSON file (keys and list indexes).
json() {
    .venv/bin/python - "$@" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2:]:
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value if isinstance(value, str) else json.dumps(value))
PY
}

# check WHAT ACTUAL EXPECTED: stop the demo unless they are equal.
check() {
    if [[ $2 != "$3" ]]; then
        fail "$1: got \`$2\`, expected \`$3\`"
    fi
    echo "    ok: $1 = $3"
}

# call METHOD PATH [curl args...]: a request to the API's stage as the app
# makes it; prints the body and sets `status`.
call() {
    local method=$1 path=$2
    shift 2
    local out
    out=$(curl -sS -X "$method" -w '\n%{http_code}' "$@" "$url/_aws/execute-api/$api_id/prod$path") ||
        fail "curl $method $path failed"
    status=${out##*$'\n'}
    body=${out%$'\n'*}
    printf '    %s %s -> %s %s\n' "$method" "$path" "$status" "$body"
}

echo "==> setup: installing the local AWS emulator and the aws CLI into .venv"
"$emulator" install

echo "==> setup: building mobile-backend and cloudsearch-standin (cargo build)"
# The binaries are wherever cargo puts them (CARGO_TARGET_DIR,
# build.target-dir): cargo's own build messages name them.
built=$(cargo build --quiet --bins --message-format=json-render-diagnostics \
    | .venv/bin/python -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and "bin" in m["target"]["kind"]
            and m.get("executable")):
        print(m["target"]["name"], m["executable"])
') || fail "cargo build failed"
bin=$(awk '$1 == "mobile-backend" { print $2 }' <<<"$built")
standin_bin=$(awk '$1 == "cloudsearch-standin" { print $2 }' <<<"$built")
[[ -n $bin && -x $bin ]] || fail "cargo build did not report the mobile-backend binary"
[[ -n $standin_bin && -x $standin_bin ]] || fail "cargo build did not report the cloudsearch-standin binary"
echo "    built $bin and $standin_bin"

echo "==> setup: starting a fresh local AWS emulator (AUTH=true) and the CloudSearch stand-in, just for this demo"
# shellcheck source=scripts/private-emulator.sh
source "$(dirname "${BASH_SOURCE[0]}")/private-emulator.sh"
private_emulator demo
# AUTH=true: MiniStack checks SigV4 signatures and the caller's IAM
# permissions (the deployer's key 000000000000 is the account's root).
url=$(AUTH=true "$emulator" start)
echo "    MiniStack listens on $url (account 000000000000, region us-east-1)"
"$standin_bin" --port 0 >"$state_dir/standin.out" 2>&1 &
standin_pid=$!
demo_cleanup() {
    kill "$standin_pid" 2>/dev/null || true
    private_emulator_cleanup
}
trap demo_cleanup EXIT
for _ in $(seq 50); do
    grep -q 'listening on' "$state_dir/standin.out" 2>/dev/null && break
    sleep 0.1
done
standin_url=$(sed -n 's/^cloudsearch-standin: listening on //p' "$state_dir/standin.out")
[[ -n $standin_url ]] || fail "cloudsearch-standin did not start: $(cat "$state_dir/standin.out")"
export AWS_ENDPOINT_URL_CLOUDSEARCH=$standin_url
echo "    cloudsearch-standin listens on $standin_url"

# A copy of the project's stacks, policies and handlers: the demo edits the
# stack file later (a new route), never the checkout.
project=$state_dir/project
mkdir -p "$project"
cp -R stacks policies functions "$project/"
[[ -d api ]] && cp -R api "$project/"
stack=$project/stacks/reference-architecture.toml

mb=("$bin" --stack "$stack" --endpoint-url "$url")
aws=(.venv/bin/aws --endpoint-url "$url")
table=notes-backend-notes
bucket=notes-backend-uploads-000000000000

banner "validate: check $(basename "$stack") offline (every kind, policy file and handler folder), before touching any AWS API"
expect 0 "${mb[@]}" validate

banner "plan: compare the stack with the (empty) account; exit code 2 means there are changes"
expect 2 "${mb[@]}" plan --detailed-exitcode

banner "up without --auto-approve and no terminal to answer: it must refuse and change nothing"
expect 1 "${mb[@]}" up </dev/null
check "tables of the stack" "$("${aws[@]}" dynamodb list-tables --query "length(TableNames[?starts_with(@, 'notes-backend')])")" 0

banner "plan --markdown --out: the pull-request comment, and the plan saved for review (exit code 2: changes)"
expect 2 "${mb[@]}" plan --markdown --out "$state_dir/plan.json" --detailed-exitcode

banner "up --auto-approve plan.json: apply exactly the saved plan: pools, table, bucket, search domain, API, roles, and four functions built from functions/"
expect 0 "${mb[@]}" up --auto-approve "$state_dir/plan.json"

banner "plan again: the account matches the stack, exit code 0 means no changes"
expect 0 "${mb[@]}" plan --detailed-exitcode

banner "stages: the copies of this stack in the account (found by their ownership tags), with who applied each last"
expect 0 "${mb[@]}" stages
"${mb[@]}" stages --json >"$state_dir/stages.json" || fail "stages --json failed"
stages_found=$(json "$state_dir/stages.json" stages)
[[ $stages_found == *'"command": "up"'* && $stages_found == *'"outcome": "succeeded"'* ]] ||
    fail "stages does not show the up just applied: $stages_found"

banner "outputs: what the app is configured with (secrets only when asked: the API key)"
expect 0 "${mb[@]}" outputs --format env
expect 0 "${mb[@]}" outputs --include-secrets --write "$state_dir/app.json"
pool_id=$(json "$state_dir/app.json" resources identity_pool.app id)
api_id=$(json "$state_dir/app.json" resources api.notes id)
api_key=$(json "$state_dir/app.json" resources api.notes key.ios.value)
echo "    identity pool $pool_id, API $api_id, and the key (not printed)"

banner "the app: a guest gets an identity and temporary AWS credentials from the identity pool (unsigned calls, as the mobile SDK makes them)"
identity=$("${aws[@]}" cognito-identity get-id --identity-pool-id "$pool_id" --query IdentityId --output text) ||
    fail "cognito-identity get-id failed"
echo "    identity $identity"
"${aws[@]}" cognito-identity get-credentials-for-identity --identity-id "$identity" \
    >"$state_dir/guest.json" || fail "cognito-identity get-credentials-for-identity failed"
guest=(--aws-sigv4 "aws:amz:us-east-1:execute-api"
    --user "$(json "$state_dir/guest.json" Credentials AccessKeyId):$(json "$state_dir/guest.json" Credentials SecretKey)"
    -H "x-amz-security-token: $(json "$state_dir/guest.json" Credentials SessionToken)")
echo "    temporary credentials $(json "$state_dir/guest.json" Credentials AccessKeyId) (the secret is not printed)"

banner "the app: a photo goes to the guest's own prefix, private/<identity id>/"
# The guest's role allows s3:PutObject on private/${cognito-identity.amazonaws.com:sub}/*.
# MiniStack cannot evaluate IAM policy variables (it denies even the owner),
# so this one upload is made with the deployer's credentials; the policy
# document itself is proven by tests (tests/emulator_identity.rs).
printf 'a photo of the harbour\n' >"$state_dir/harbour.jpg"
photo_key="private/$identity/harbour.jpg"
expect 0 "${aws[@]}" s3api put-object --bucket "$bucket" --key "$photo_key" \
    --body "$state_dir/harbour.jpg" --query ETag

banner "the app: the photo comes back through the CDN (CloudFront reads the bucket only through its origin access control)"
cdn_domain=$(json "$state_dir/app.json" resources cdn.media domain_name)
# MiniStack serves a distribution's viewers at its own port: the Host header
# names the distribution, X-Forwarded-Proto says the viewer came by HTTPS.
fetched=$(curl -sS -H "Host: $cdn_domain" -H 'X-Forwarded-Proto: https' "$url/$photo_key") ||
    fail "curl through the CDN failed"
check "the photo at https://$cdn_domain/$photo_key" "$fetched" "a photo of the harbour"
check "the same over plain http (redirected to https)" \
    "$(curl -sS -o /dev/null -w '%{http_code}' -H "Host: $cdn_domain" "$url/$photo_key")" 301

banner "the app: POST /notes is refused unsigned and without the API key (403); a bad body is refused (400)"
note="{\"headline\": \"Harbour at dawn\", \"text\": \"fishing boats leave before the sun\", \"s3_url\": \"s3://$bucket/$photo_key\"}"
call POST /notes -H "x-api-key: $api_key" -H 'Content-Type: application/json' -d "$note"
check "unsigned POST /notes" "$status" 403
call POST /notes "${guest[@]}" -H 'Content-Type: application/json' -d "$note"
check "POST /notes without the API key" "$status" 403
call POST /notes "${guest[@]}" -H "x-api-key: $api_key" -H 'Content-Type: application/json' -d '{"headline": 7}'
check "POST /notes with a body that breaks CreateNoteRequest" "$status" 400
check "who refused it" "$body" '{"message": "Invalid request body"}'


banner "the app: a signed POST /notes with the key stores the note under the guest's identity"
call POST /notes "${guest[@]}" -H "x-api-key: $api_key" -H 'Content-Type: application/json' -d "$note"
check "signed POST /notes" "$status" 200
note_id=$(.venv/bin/python -c 'import json, sys; print(json.loads(sys.argv[1])["noteId"])' "$body") ||
    fail "the answer has no noteId: $body"
stored=$("${aws[@]}" dynamodb get-item --table-name "$table" \
    --key "{\"userId\": {\"S\": \"$identity\"}, \"noteId\": {\"S\": \"$note_id\"}}" \
    --query 'Item.headline.S' --output text)
check "the note's headline in the table, under the guest's identity" "$stored" "Harbour at dawn"

banner "the app: GET /search finds the note once the stream function (index-notes) sent it to the search domain"
found=no
for _ in $(seq 40); do
    call GET '/search?q=boats' "${guest[@]}"
    if [[ $status == 200 && $body == *"\"$note_id\""* ]]; then
        found=yes
        break
    fi
    sleep 0.5
done
check "the note found by GET /search?q=boats" "$found" yes

banner "a new route in the stack file: the plan shows one update of the API, whose stage is redeployed once"
.venv/bin/python - "$stack" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
anchor = 'usage_plans.mobile = '
route = 'routes."GET /health" = { integration = { mock = { status = 200, response = "{\\"ok\\": true}" } } }\n'
assert anchor in text, "the [api.notes] table has no usage_plans.mobile line"
at = text.index(anchor)
text = text[:at] + route + text[at:]
open(path, "w").write(text)
PY
expect 2 "${mb[@]}" plan --detailed-exitcode --json --out "$state_dir/route.json" >/dev/null
changes=$(.venv/bin/python - "$state_dir/route.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
for c in plan["resource_changes"]:
    if c["change"]["actions"] != ["no-op"]:
        before, after = c["change"]["before"] or {}, c["change"]["after"] or {}
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        print(c["address"], "+".join(c["change"]["actions"]), ",".join(changed))
PY
)
echo "$changes" | sed 's/^/    /'
check "what the new route changes" "$changes" "api.notes update deployment,routes"
expect 0 "${mb[@]}" up --auto-approve
call GET /health
check "GET /health on the redeployed stage" "$status" 200

banner "drift: someone changes a function and the table behind the tool's back, with the aws CLI"
expect 0 "${mb[@]}" plan --detailed-exitcode --out "$state_dir/converged.json"
expect 0 "${aws[@]}" lambda update-function-configuration --function-name notes-backend-notes_api \
    --memory-size 512 --query MemorySize
expect 0 "${aws[@]}" dynamodb update-table --table-name "$table" \
    --billing-mode PROVISIONED \
    --provisioned-throughput ReadCapacityUnits=5,WriteCapacityUnits=5 \
    --query 'TableDescription.BillingModeSummary'

banner "a plan saved before the drift is refused: AWS changed since it was made, so nothing is applied"
expect 1 "${mb[@]}" up --auto-approve "$state_dir/converged.json"

banner "plan: the drift shows up as changes (exit code 2); up puts it back; then no changes"
expect 2 "${mb[@]}" plan --detailed-exitcode
expect 0 "${mb[@]}" up --auto-approve
expect 0 "${mb[@]}" plan --detailed-exitcode
check "the function's memory" "$("${aws[@]}" lambda get-function-configuration --function-name notes-backend-notes_api --query MemorySize)" 128

banner "destroy: the uploads bucket holds the photo, so it is not deleted unless you say --empty-buckets"
expect 1 "${mb[@]}" destroy --auto-approve
expect 0 "${mb[@]}" destroy --auto-approve --empty-buckets

banner "check with the aws CLI that nothing of the stack is left"
check "tables" "$("${aws[@]}" dynamodb list-tables --query "length(TableNames[?starts_with(@, 'notes-backend')])")" 0
check "buckets" "$("${aws[@]}" s3api list-buckets --query "length(Buckets[?starts_with(Name, 'notes-backend')])")" 0
check "functions" "$("${aws[@]}" lambda list-functions --query 'length(Functions)')" 0
check "stream triggers" "$("${aws[@]}" lambda list-event-source-mappings --query 'length(EventSourceMappings)')" 0
check "user pools" "$("${aws[@]}" cognito-idp list-user-pools --max-results 60 --query 'length(UserPools)')" 0
check "identity pools" "$("${aws[@]}" cognito-identity list-identity-pools --max-results 60 --query 'length(IdentityPools)')" 0
check "REST APIs" "$("${aws[@]}" apigateway get-rest-apis --query 'length(items)')" 0
check "API keys" "$("${aws[@]}" apigateway get-api-keys --query 'length(items)')" 0
check "usage plans" "$("${aws[@]}" apigateway get-usage-plans --query 'length(items)')" 0
check "CloudFront distributions" "$("${aws[@]}" cloudfront list-distributions --query 'length(DistributionList.Items || `[]`)')" 0
check "origin access controls" "$("${aws[@]}" cloudfront list-origin-access-controls --query 'length(OriginAccessControlList.Items || `[]`)')" 0
check "roles" "$("${aws[@]}" iam list-roles --query "length(Roles[?starts_with(RoleName, 'notes-backend')])")" 0
check "search domains (in the stand-in)" "$(.venv/bin/aws --endpoint-url "$standin_url" cloudsearch list-domain-names --query 'length(DomainNames)')" 0

printf '\ndemo finished: all %d steps behaved as expected\n' "$step"
