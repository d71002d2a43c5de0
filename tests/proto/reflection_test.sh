#!/usr/bin/env bash
# Reflection end to end: a real statesd on a free loopback port, called with
# `buf curl` and no proto files, as an operator or a mesh would.
# Usage: reflection_test.sh STATESD BUF
set -euo pipefail
statesd=$1
buf=$2
work=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$statesd" --listen=127.0.0.1:0 >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q " on 127.0.0.1:" "$work/out" && break
  sleep 0.1
done
address=$(grep -o "127\.0\.0\.1:[0-9]*" "$work/out" | head -n 1)
[[ -n $address ]] || { echo "statesd did not start:"; cat "$work/out"; exit 1; }
curl() { timeout 30 "$buf" curl --protocol grpc --http2-prior-knowledge "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

services=$(curl --list-services "http://$address")
echo "$services"
for service in mozuma.states.v1.StateService grpc.health.v1.Health; do
  grep -qx "$service" <<<"$services" || fail "reflection does not list $service"
done
methods=$(curl --list-methods "http://$address")
for method in ValidateStateTypes ValidateStateKeys CheckCompatibility ParseStateKey; do
  grep -qx "mozuma.states.v1.StateService/$method" <<<"$methods" || fail "no method $method"
done

parsed=$(curl -d '{"name": "pytorch.resnet18.cls1000.imagenet"}' \
  "http://$address/mozuma.states.v1.StateService/ParseStateKey")
echo "$parsed"
grep -q '"trainingId": "imagenet"' <<<"$parsed" || fail "ParseStateKey answer"
grep -q '"cls1000"' <<<"$parsed" || fail "ParseStateKey extra"

# An invalid name: buf curl exits non-zero and prints the status with its
# details, which reflection lets it decode.
if error=$(curl -d '{"name": "pytorch.res net.imagenet"}' \
  "http://$address/mozuma.states.v1.StateService/ParseStateKey" 2>&1); then
  fail "an invalid name was accepted: $error"
fi
echo "$error"
grep -q '"code": "invalid_argument"' <<<"$error" || fail "code of the invalid name"
grep -q 'google.rpc.BadRequest' <<<"$error" || fail "no BadRequest detail"
grep -q 'google.rpc.ErrorInfo' <<<"$error" || fail "no ErrorInfo detail"

health=$(curl -d '{"service": "mozuma.states.v1.StateService"}' \
  "http://$address/grpc.health.v1.Health/Check")
grep -q '"status": "SERVING"' <<<"$health" || fail "health: $health"

kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
pid=""
echo "reflection_test: all checks passed"
