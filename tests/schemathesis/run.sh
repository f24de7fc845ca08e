#!/usr/bin/env bash
# Property-based API tests with Schemathesis, against the built server (it builds nothing):
# starts target/debug/openadr3-vtn on a free port with a fresh SQLite database, creates a
# business-logic client and a VEN client, seeds one object of each kind, and runs Schemathesis
# against our document (openapi/openapi.json) and against the official OpenADR 3.0.1 document
# (tests/fixtures/spec/openadr3-3.0.1.json); the operator API gets a server of its own. Any
# finding, or a panic in a server log, fails the script.
#
# Checks (set in ours.toml and official.toml, with each deliberate exclusion and its reason):
# not_a_server_error, status_code_conformance, content_type_conformance,
# response_schema_conformance. Time-bounded: at most ST_MAX_EXAMPLES (default 15) cases per
# operation and phase, and a fixed number of seconds per run (about 3 minutes in all;
# ST_TIME_FACTOR=10 for a longer run).
#
# Usage: tests/schemathesis/run.sh   (from anywhere; needs python3 with requirements.txt)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${VTN_BIN:-$root/target/debug/openadr3-vtn}"
[ -x "$bin" ] || { echo "$bin is missing: build the server first (cargo build or cargo test)"; exit 1; }
command -v schemathesis >/dev/null || { echo "schemathesis is missing: pip install -r $here/requirements.txt"; exit 1; }

max_examples="${ST_MAX_EXAMPLES:-15}"
work="$(mktemp -d)"
ven_name="st-ven"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Hex: a secret starting with '-' would read as an option.
secret() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }

python3 "$here/echo_callback.py" >"$work/callback.port" &
pids+=($!)

# start_server NAME: a server on a fresh SQLite database with three clients made by the CLI (the
# server bootstraps none when the database has some): the operator (role admin) in tenant
# default, and a business-logic client and a VEN client (bound to VEN st-ven) in a tenant whose
# random name no generated input will hit. Sets $origin and the tokens ST_{ADMIN,BL,VEN}_TOKEN.
start_server() {
  local name="$1" port db tenant admin_secret bl_secret ven_secret server
  port="$(free_port)"
  db="sqlite://$work/$name.db"
  tenant="st-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
  admin_secret="$(secret)" bl_secret="$(secret)" ven_secret="$(secret)"
  DATABASE_URL="$db" "$bin" client create --tenant default --role admin --scopes admin \
    --client-id "$tenant-admin" --client-secret "$admin_secret" >/dev/null
  DATABASE_URL="$db" "$bin" client create --tenant "$tenant" --role bl \
    --scopes read_all,write_programs,write_events,write_reports,write_subscriptions,write_vens \
    --client-id "$tenant-bl" --client-secret "$bl_secret" >/dev/null
  DATABASE_URL="$db" "$bin" client create --tenant "$tenant" --role ven --ven-name "$ven_name" \
    --scopes read_all,write_reports,write_subscriptions,write_vens \
    --client-id "$tenant-ven" --client-secret "$ven_secret" >/dev/null

  echo "==> server $name on port $port (log: $work/$name.log)"
  DATABASE_URL="$db" VTN_BIND="127.0.0.1:$port" VTN_LOG="${VTN_LOG:-warn}" \
    VTN_WEBHOOK_ALLOW_HTTP=true VTN_WEBHOOK_ALLOW_PRIVATE=true \
    "$bin" serve >"$work/$name.log" 2>&1 &
  server=$!
  pids+=("$server")
  origin="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS "$origin/health" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/$name.log"; echo "the server exited"; exit 1; }
    sleep 0.1
  done
  curl -fsS "$origin/health" >/dev/null
  base="$origin/api/openadr/v1"
  ST_ADMIN_TOKEN="$(token "$tenant-admin" "$admin_secret")"
  ST_BL_TOKEN="$(token "$tenant-bl" "$bl_secret")"
  ST_VEN_TOKEN="$(token "$tenant-ven" "$ven_secret")"
  export ST_ADMIN_TOKEN ST_BL_TOKEN ST_VEN_TOKEN
}
export ST_HOOKS_DIR="$here"

token() {
  curl -fsS -u "$1:$2" -d grant_type=client_credentials "$base/auth/token" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# POST a JSON body with a token; prints the new object's id.
post() {
  local token="$1" path="$2" body="$3"
  curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$body" "$base$path" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("id", ""))'
}

# One object of each kind, so that lists and reads return real objects to check.
seed() {
  local program ven event callback
  for _ in $(seq 1 50); do [ -s "$work/callback.port" ] && break; sleep 0.1; done
  callback="http://127.0.0.1:$(cat "$work/callback.port")/callback"
  program=$(post "$ST_BL_TOKEN" /programs '{"programName":"st-program","targets":[{"type":"GROUP","values":["g1"]}]}')
  ven=$(post "$ST_BL_TOKEN" /vens "{\"venName\":\"$ven_name\",\"targets\":[{\"type\":\"GROUP\",\"values\":[\"g1\"]}]}")
  post "$ST_BL_TOKEN" "/vens/$ven/resources" "{\"resourceName\":\"st-resource\",\"venID\":\"$ven\"}" >/dev/null
  event=$(post "$ST_BL_TOKEN" /events "{\"programID\":\"$program\",\"eventName\":\"st-event\",
    \"targets\":[{\"type\":\"GROUP\",\"values\":[\"g1\"]}],
    \"reportDescriptors\":[{\"payloadType\":\"USAGE\"}],
    \"intervalPeriod\":{\"start\":\"2024-05-01T12:00:00Z\",\"duration\":\"PT1H\"},
    \"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"PRICE\",\"values\":[0.17]}]}]}")
  post "$ST_VEN_TOKEN" /reports "{\"programID\":\"$program\",\"eventID\":\"$event\",\"clientName\":\"$ven_name\",
    \"resources\":[{\"resourceName\":\"st-resource\",\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"USAGE\",\"values\":[1.5]}]}]}]}" >/dev/null
  post "$ST_BL_TOKEN" /subscriptions "{\"clientName\":\"st-bl\",\"programID\":\"$program\",
    \"objectOperations\":[{\"objects\":[\"EVENT\"],\"operations\":[\"POST\"],\"callbackUrl\":\"$callback\",\"bearerToken\":\"t\"}]}" >/dev/null
  post "$ST_VEN_TOKEN" /users '{"userId":"st-user"}' >/dev/null
  echo "seeded program $program, event $event, VEN $ven and its resource, a report, a subscription, user st-user"
}

status=0
# run NAME CONFIG SCHEMA SECONDS [schemathesis options...]: SECONDS bounds the run (fuzzing
# repeats until it is spent), times ST_TIME_FACTOR (default 1) for longer runs by hand.
run() {
  local name="$1" config="$2" schema="$3" seconds=$(($4 * ${ST_TIME_FACTOR:-1}))
  shift 4
  echo "==> schemathesis: $name"
  local start=$SECONDS code
  set +e
  schemathesis --config-file "$config" run "$schema" "$@" \
    --phases examples,coverage,fuzzing --max-examples "$max_examples" --max-time "$seconds" \
    --workers 1 --seed 1 --no-color --request-timeout 10 --generation-database none
  code=$?
  set -e
  echo "schemathesis ($name): exit $code after $((SECONDS - start)) s"
  [ "$code" -eq 0 ] || status=1
}

# Server A: the OpenADR and Energy Coordination APIs, then the official document.
start_server a
seed
run "our document, all but /admin" "$here/ours.toml" "$root/openapi/openapi.json" 80 \
  --url "$base" --exclude-path-regex '^/(admin|health|ready|metrics|\.well-known)'
# The probes, metrics and JWKS are at the server's root (a path-level `servers: [/]` in the
# document, which Schemathesis does not apply when given --url).
run "our document, root paths" "$here/ours.toml" "$root/openapi/openapi.json" 10 \
  --url "$origin" --include-path-regex '^/(health|ready|metrics|\.well-known)'
run "official 3.0.1 document" "$here/official.toml" "$root/tests/fixtures/spec/openadr3-3.0.1.json" 60 \
  --url "$base"
# Server B: the operator API on its own server, since it deletes tenants and clients (those of
# the run included, once Schemathesis has read their ids from a response).
start_server b
run "our document, /admin" "$here/ours.toml" "$root/openapi/openapi.json" 40 \
  --url "$base" --include-path-regex '^/admin'

for log in "$work"/*.log; do
  if grep -q 'panicked' "$log"; then
    grep -B2 -A10 'panicked' "$log"
    echo "the server panicked ($log)"
    status=1
  fi
done
exit "$status"
