#!/usr/bin/env bash
# Runs a command with a moto server (the AWS-API emulator) on a free loopback port, named
# in HOOKBRIDGE_TEST_AWS_ENDPOINT, and stops the server afterwards whatever happens.
# IAM is enforced (set MOTO_IAM=0 to turn it off): infra/moto_iam.py gives each function of
# template.yaml a user with exactly its policy (HOOKBRIDGE_TEST_IAM names the credentials
# file) and the tests' own setup an administrator (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$here/.venv}"
moto="$venv/bin/moto_server"
[ -x "$moto" ] || { echo "moto_server not found in $venv: run 'make test' (it installs it)" >&2; exit 1; }

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp -t moto.XXXXXX.log)"
iam="$(mktemp -t moto-iam.XXXXXX.json)"
"$moto" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log" "$iam"; }
trap cleanup EXIT INT TERM

# Readiness probe: moto answers its reset endpoint once it is serving (about half a second).
for _ in $(seq 1 100); do
  if "$venv/bin/python" - "$port" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/moto-api/reset", method="POST"), timeout=1)
PY
  kill -0 "$pid" 2>/dev/null || { echo "moto server failed to start:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done

export HOOKBRIDGE_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
# The OpenAPI test validates the generated document with it.
export HOOKBRIDGE_OPENAPI_VALIDATOR="$venv/bin/openapi-spec-validator"
# The Python that holds independent verifiers (RFC 9421, Ed25519) for the outbound tests.
export HOOKBRIDGE_TEST_PYTHON="$venv/bin/python"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
if [ "${MOTO_IAM:-1}" != 0 ]; then
  "$venv/bin/python" "$here/infra/moto_iam.py" "$here/template.yaml" "$HOOKBRIDGE_TEST_AWS_ENDPOINT" "$iam"
  export HOOKBRIDGE_TEST_IAM="$iam"
  AWS_ACCESS_KEY_ID="$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"]["accessKeyId"])' "$iam")"
  AWS_SECRET_ACCESS_KEY="$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"]["secretAccessKey"])' "$iam")"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  echo "moto server on $HOOKBRIDGE_TEST_AWS_ENDPOINT (IAM enforced: per-function policies from template.yaml)"
else
  echo "moto server on $HOOKBRIDGE_TEST_AWS_ENDPOINT (IAM not enforced)"
fi
"$@"
