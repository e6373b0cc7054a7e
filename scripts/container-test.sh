#!/usr/bin/env bash
# The container test (wire.md "Tools"): builds the image from `Dockerfile` with podman or
# docker, whichever works here, brings up compose.yaml's network (processing on
# PostgreSQL, two providers, an agent), signs the contracts through the participants'
# APIs, makes a payment at the agent's kiosk API while the provider's container is
# stopped, restarts it, and exits 0 only if the payment was credited exactly once.
#
#   scripts/container-test.sh
#
# Where neither podman nor docker works it says so and exits 0 (skipped). The image is
# built from binaries built outside (BINARIES=prebuilt: target/debug/paymesh and
# target/site, what `./paymesh test` has just built) when they exist, else compiled in
# the image's build stage; PAYMESH_CONTAINER_BINARIES=prebuilt|compiled chooses.
# PAYMESH_ENGINE=podman|docker picks the engine. Everything it starts — containers,
# networks, volumes, secrets — is removed at the end, whatever happened; the images stay
# (a rerun builds only what changed). It prints each phase's time and the image's size.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "container-test: $*"; }
fail() {
  echo "container-test: FAILED: $*" >&2
  exit 1
}
now_ms() { date +%s%3N; }
started=$(now_ms)
declare -a timings=()
phase_start=$started
phase() { # phase NAME: the time since the previous phase ended
  local t
  t=$(now_ms)
  timings+=("$(printf '%-9s %6.1f s' "$1" "$((t - phase_start))e-3")")
  phase_start=$t
}

# shellcheck source=scripts/lib/container-engine.sh
source scripts/lib/container-engine.sh
if [[ -z "$engine" ]]; then
  echo "#####################################################################" >&2
  echo "# container-test: SKIPPED — neither podman nor docker works here    #" >&2
  echo "# (a docker client without a daemon does not count). Install them: #" >&2
  echo "#   scripts/install-deps.sh --test   (podman, podman-compose, runc) #" >&2
  echo "#####################################################################" >&2
  exit 0
fi
if [[ "$engine" == podman ]]; then
  command -v podman-compose >/dev/null || fail "podman-compose is missing (scripts/install-deps.sh --test)"
  compose_cmd=(podman-compose)
elif docker compose version >/dev/null 2>&1; then
  compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose_cmd=(docker-compose)
else
  fail "docker works but has no compose (install docker-compose-plugin)"
fi
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh --test)"
done
say "engine: $engine, compose: ${compose_cmd[*]}"

# ---- build ------------------------------------------------------------------------------
binaries=${PAYMESH_CONTAINER_BINARIES:-}
if [[ -z "$binaries" ]]; then
  if [[ -x target/debug/paymesh && -f target/site/pkg/paymesh.wasm ]]; then
    binaries=prebuilt
  else
    binaries=compiled
  fi
fi
image_args=()
[[ "$binaries" == compiled ]] && image_args=(--compiled)
log=$(mktemp /tmp/paymesh-container-test-XXXXXX.log)
say "building the images (BINARIES=$binaries; log: $log)"
PAYMESH_ENGINE=$engine scripts/container-image.sh "${image_args[@]}" >"$log" 2>&1 ||
  { tail -n 30 "$log" >&2; fail "the paymesh image did not build"; }
image_line=$(tail -n 1 "$log")
grep -h "base image made" "$log" | sed 's/^container-image: /container-test: /' || true
phase image
pg_build=("$engine" build -t paymesh-postgres)
[[ "$engine" == podman ]] && pg_build+=(--format docker --pull=never)
"${pg_build[@]}" deploy/postgres >>"$log" 2>&1 ||
  { tail -n 30 "$log" >&2; fail "the PostgreSQL image did not build"; }
phase pg-image

# ---- up ---------------------------------------------------------------------------------
project=paymesh-container-test
secrets=$(mktemp -d /tmp/paymesh-secrets-XXXXXX)
compose() {
  "${compose_cmd[@]}" -p "$project" -f compose.yaml "$@"
}
container() { # container SERVICE: its container's name
  "$engine" ps -a --filter "label=com.docker.compose.project=$project" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n1
}
# Everything of this compose project, by the label both composes put on what they make:
# containers, then volumes and networks (podman-compose 1.0.3's `down -v` keeps the
# networks, and pauses a second after each command it runs). Stopped in dependency
# order: processing stopped after its database was seen to take its whole 10 s stop
# timeout (a request in flight waiting on the database pool, most likely).
# shellcheck disable=SC2086 # the lists of ids are split on purpose
teardown() {
  local label="label=com.docker.compose.project=$project" ids s
  for s in "agent provider-a provider-b" processing postgres; do
    ids=$(for c in $s; do container "$c"; done)
    [[ -z "$ids" ]] || "$engine" stop $ids >>"$log" 2>&1 || true
  done
  ids=$("$engine" ps -aq --filter "$label" 2>/dev/null || true)
  [[ -z "$ids" ]] || "$engine" rm -f $ids >>"$log" 2>&1 || true
  ids=$("$engine" volume ls -q --filter "$label" 2>/dev/null || true)
  [[ -z "$ids" ]] || "$engine" volume rm -f $ids >>"$log" 2>&1 || true
  ids=$("$engine" network ls -q --filter "$label" 2>/dev/null || true)
  [[ -z "$ids" ]] || "$engine" network rm $ids >>"$log" 2>&1 || true
}
cleanup() {
  local status=$?
  if [[ -z "${torn_down:-}" ]]; then
    say "tearing down"
    teardown
  fi
  rm -rf "$secrets"
  if ((status == 0)); then rm -f "$log"; else say "log kept: $log"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for s in processing provider-a provider-b agent postgres; do
  openssl rand -hex 16 >"$secrets/$s-password"
  # The containers' users are not this one: the files must be readable by them.
  chmod 0444 "$secrets/$s-password"
done
pw() { cat "$secrets/$1-password"; }
export PAYMESH_SECRETS=$secrets
PAYMESH_PROCESSING_PORT=$(free_port)
PAYMESH_PROVIDER_A_PORT=$(free_port)
PAYMESH_PROVIDER_B_PORT=$(free_port)
PAYMESH_AGENT_PORT=$(free_port)
export PAYMESH_PROCESSING_PORT PAYMESH_PROVIDER_A_PORT PAYMESH_PROVIDER_B_PORT PAYMESH_AGENT_PORT
# A restarted provider is retried within a second or two, not after a minute's backoff.
export PAYMESH_RETRY_DELAY_MS_MAX=1000
processing=http://127.0.0.1:$PAYMESH_PROCESSING_PORT
provider_a=http://127.0.0.1:$PAYMESH_PROVIDER_A_PORT
provider_b=http://127.0.0.1:$PAYMESH_PROVIDER_B_PORT
agent=http://127.0.0.1:$PAYMESH_AGENT_PORT

teardown # what a previous run, killed before its own teardown, left
say "starting the network"
compose up -d --no-build >>"$log" 2>&1 || { tail -n 30 "$log" >&2; fail "compose up"; }

# HEALTHCHECK as the engine runs it: podman without systemd runs no timers, so it is run
# here on demand; docker runs it itself and reports the state.
healthy() {
  local name
  name=$(container "$1")
  [[ -n "$name" ]] || return 1
  if [[ "$engine" == podman ]]; then
    podman healthcheck run "$name" >/dev/null 2>&1
  else
    [[ "$(docker inspect -f '{{.State.Health.Status}}' "$name" 2>/dev/null)" == healthy ]]
  fi
}
wait_healthy() { # wait_healthy SECONDS SERVICE…
  local deadline=$(($(date +%s) + $1)) s
  shift
  for s in "$@"; do
    until healthy "$s"; do
      if (($(date +%s) > deadline)); then
        "$engine" logs "$(container "$s")" 2>&1 | tail -n 20 >&2 || true
        fail "$s is not healthy"
      fi
      sleep 0.5
    done
  done
}
wait_healthy 90 postgres processing provider-a provider-b agent
phase up

# ---- contracts --------------------------------------------------------------------------
# call METHOD URL LOGIN PASSWORD [BODY]: the answer's body; a non-2xx status fails.
call() {
  local method=$1 url=$2 login=$3 password=$4 body=${5:-} out status
  out=$(mktemp)
  local args=(-sS -o "$out" -w '%{http_code}' -X "$method" -u "$login:$password" --max-time 30)
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data "$body")
  status=$(curl "${args[@]}" "$url") || { rm -f "$out"; fail "$method $url: no answer"; }
  if [[ "$status" != 2* ]]; then
    echo "container-test: $method $url → HTTP $status: $(cat "$out")" >&2
    rm -f "$out"
    exit 1
  fi
  cat "$out"
  rm -f "$out"
}
admin() { # admin BASE PASSWORD-NAME METHOD PATH [BODY]
  call "$3" "$1/api/admin/v1$4" admin "$(pw "$2")" "${5:-}"
}

say "signing the contracts"
subscriber=$(admin "$provider_a" provider-a POST /subscribers \
  '{"full_name":"Иванов Иван Иванович","passport":"4510 123456","email":"ivanov@example.ru","services":["call","sms","internet"]}')
account=$(jq -er .account <<<"$subscriber")
# Sign provider PROVIDER-SERVICE KIND at processing: its provider id. The provider's
# endpoint is given by its service name on the private network.
sign_provider() {
  local base=$1 service=$2 name=$3 kind=$4 contract
  contract=$(admin "$base" "$service" POST /processing-contracts \
    '{"processing_name":"paymesh processing","protocol":"osmp"}')
  admin "$processing" processing POST /providers "$(jq -c \
    --arg name "$name" --arg kind "$kind" --arg url "http://$service:8402/osmp" \
    '{name:$name, service_kind:$kind, endpoint_url:$url, protocol:"osmp", login, password,
      fields, min_amount, max_amount}' <<<"$contract")" | jq -er .provider_id
}
provider_a_id=$(sign_provider "$provider_a" provider-a Megafon mobile)
provider_b_id=$(sign_provider "$provider_b" provider-b Er-Telecom internet)
agent_contract=$(admin "$processing" processing POST /agents \
  '{"name":"container-test terminal","fee":{"percent_bp":0,"fixed":0,"min":0,"max":null}}')
agent_id=$(jq -er .agent_id <<<"$agent_contract")
deposit=1000000 # 10 000 ₽
admin "$processing" processing POST "/agents/$agent_id/topups" \
  "{\"amount\":$deposit,\"reference\":\"container-test-deposit\"}" >/dev/null
admin "$agent" agent PUT /contract "$(jq -c \
  '{processing_url:"http://processing:8403/api/agent/v1", contract_number, login, password}' \
  <<<"$agent_contract")" >/dev/null
status=$(admin "$agent" agent POST /sync)
providers=$(call GET "$agent/api/kiosk/v1/state" kiosk \
  "$("$engine" exec "$(container agent)" cat /var/lib/paymesh/kiosk-password)" | jq '.providers | length')
[[ "$providers" == 2 ]] || fail "the agent's catalog has $providers providers, not 2: $status"
say "signed: providers $provider_a_id and $provider_b_id, agent $agent_id with $((deposit / 100)) ₽, subscriber $account"
phase contracts

# ---- payment, with the provider's container stopped and restarted -----------------------
kiosk_pw=$("$engine" exec "$(container agent)" cat /var/lib/paymesh/kiosk-password)
terminal_pw=$("$engine" exec "$(container agent)" cat /var/lib/paymesh/terminal-password)
kiosk() { call "$1" "$agent/api/kiosk/v1$2" kiosk "$kiosk_pw" "${3:-}"; }
terminal() { call "$1" "$agent/api/terminal/v1$2" terminal "$terminal_pw" "${3:-}"; }

cash=50000 # one 500 ₽ bill
terminal PUT /validator "{\"state\":\"idle\",\"fault\":null,\"bill_table\":[{\"bill_type\":3,\"amount\":$cash}]}" >/dev/null
check=$(kiosk POST /checks "{\"provider_id\":$provider_a_id,\"account\":\"$account\"}")
[[ "$(jq -r .result <<<"$check")" == 0 ]] || fail "the provider refused the check: $check"
session=$(kiosk POST /sessions "{\"provider_id\":$provider_a_id,\"account\":\"$account\"}" | jq -er .session_id)
bill=$(terminal POST /bills "{\"event_id\":\"container-test-1\",\"amount\":$cash,\"session_id\":$session,\"bill_type\":3,\"stacked_at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}")
[[ "$(jq -r .counted <<<"$bill")" == true ]] || fail "the bill was not counted: $bill"
phase cash

say "stopping the provider's container, then paying"
"$engine" stop "$(container provider-a)" >>"$log" 2>&1 || fail "$engine stop provider-a"
receipt=$(kiosk POST "/sessions/$session/pay")
txn=$(jq -er .agent_txn_id <<<"$receipt")
amount=$(jq -er .amount <<<"$receipt")
say "paid with the provider down: $(jq -r .status <<<"$receipt") (agent_txn_id $txn, $((amount / 100)) ₽)"
[[ "$(jq -r .status <<<"$receipt")" != completed ]] || fail "completed while the provider was stopped: $receipt"
# Processing has the payment and cannot complete it while the provider is down.
payment_at_processing() {
  admin "$processing" processing GET "/payments?agent_id=$agent_id" |
    jq -c --arg txn "$txn" '[.[] | select(.agent_txn_id == $txn)]'
}
deadline=$(($(date +%s) + 30))
until [[ "$(payment_at_processing | jq -r '.[0].status // empty')" == pending ]]; do
  (($(date +%s) < deadline)) || fail "processing never held the payment pending: $(payment_at_processing)"
  sleep 0.5
done
sleep 2 # a retry or two find the provider gone
[[ "$(payment_at_processing | jq -r '.[0].status')" == pending ]] || fail "settled without the provider: $(payment_at_processing)"
phase payment
say "processing holds it pending; restarting the provider"
"$engine" start "$(container provider-a)" >>"$log" 2>&1 || fail "$engine start provider-a"
wait_healthy 60 provider-a
deadline=$(($(date +%s) + 60))
until [[ "$(kiosk GET "/sessions/$session/receipt" | jq -r .status)" == completed ]]; do
  (($(date +%s) < deadline)) || fail "not completed a minute after the restart: $(kiosk GET "/sessions/$session/receipt")"
  sleep 0.5
done
phase restart

# ---- exactly once -----------------------------------------------------------------------
# Pay again (the kiosk's retry after a lost answer): the same payment, nothing new.
again=$(kiosk POST "/sessions/$session/pay")
[[ "$(jq -r .agent_txn_id <<<"$again")" == "$txn" ]] || fail "a repeated pay made another payment: $again"
sleep 2 # let anything that would credit twice do so
at_processing=$(payment_at_processing)
[[ "$(jq length <<<"$at_processing")" == 1 && "$(jq -r '.[0].status' <<<"$at_processing")" == completed ]] ||
  fail "processing: not one completed payment: $at_processing"
all_at_processing=$(admin "$processing" processing GET "/payments?agent_id=$agent_id" | jq length)
[[ "$all_at_processing" == 1 ]] || fail "processing has $all_at_processing payments of the agent, not 1"
balance=$(admin "$provider_a" provider-a GET "/subscribers/$account" | jq -er .balance.amount)
[[ "$balance" == "$amount" ]] || fail "the subscriber's balance is $balance kopecks, not $amount (credited once)"
credits=$(admin "$provider_a" provider-a GET "/transactions?account=$account" |
  jq '[.[] | select(.kind == "payment")] | length')
[[ "$credits" == 1 ]] || fail "the provider lists $credits payments to $account, not 1: $(admin "$provider_a" provider-a GET "/transactions?account=$account")"
outbox=$(admin "$agent" agent GET /payments | jq -c '[.[] | {agent_txn_id, status}]')
[[ "$(jq length <<<"$outbox")" == 1 ]] || fail "the agent's outbox has not one payment: $outbox"
say "credited exactly once: $((amount / 100)) ₽ on $account at provider-a; processing: completed; outbox: $outbox"

# The boundaries docs/security.md lists for containers.
[[ "$("$engine" exec "$(container processing)" id -u)" == 10001 ]] || fail "processing does not run as uid 10001"
if "$engine" inspect "$(container processing)" "$(container postgres)" | grep -qF -e "$(pw processing)" -e "$(pw postgres)"; then
  fail "a password shows in $engine inspect"
fi
if "$engine" exec "$(container provider-a)" timeout 3 bash -c 'exec 3<>/dev/tcp/postgres/5432' 2>/dev/null; then
  fail "a provider reaches the database (only processing is on its network)"
fi
"$engine" exec "$(container processing)" timeout 3 bash -c 'exec 3<>/dev/tcp/postgres/5432' ||
  fail "processing does not reach the database"
say "non-root, no password in $engine inspect, the database reachable from processing only"
phase verify

say "tearing down"
teardown
torn_down=1
phase teardown

total=$(now_ms)
echo
echo "container-test: PASSED ($engine, BINARIES=$binaries, image ${image_line#image: })"
printf '  %s\n' "${timings[@]}"
printf '  %-9s %6.1f s\n' total "$((total - started))e-3"
