#!/usr/bin/env bash
# API conformance: runs Schemathesis against the OpenAPI document the local runner serves
# (/v1/openapi.json), with the admin token, every check, a bounded number of examples per
# operation and a fixed seed. Builds nothing: `make test` builds target/debug/hookbridge-local
# first. The runner gets a free loopback port and a fresh data dir and is stopped whatever
# happens; the exit status is Schemathesis's. Method and figures: docs/api-conformance.md.
#
# Only the management API (/v1/...) is exercised. The ingress routes (/webhooks/...) are
# left out: every call there is authenticated by an API key that lives in the webhook's URL
# (handed out by GET /v1/webhooks/{id}/url) and by the provider's signature over the exact
# body, and only an active, bound webhook answers anything but 404. Generated requests can
# never carry a valid key and signature, so Schemathesis would only ever see refusals (which
# tests/it covers provider by provider) and its positive-data check would call them bugs.
#
# Generated connectors and registration helpers name arbitrary hosts, and the runner calls
# them (invoke, activation). So the run happens in a network namespace of its own, where
# only loopback exists (`unshare -n`, as root); where that is impossible, the operations that
# call out are left out instead.
#
# Knobs: SCHEMATHESIS_MAX_EXAMPLES (default 50 per operation and phase), SCHEMATHESIS_SEED
# (default 20251101), SCHEMATHESIS_WORKERS (default 1: one worker keeps the order of
# requests, and so the run, reproducible), HOOKBRIDGE_BIN (default target/debug/hookbridge-local),
# SCHEMATHESIS_REPORT_DIR (reports are kept there when set).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

# Into a namespace with loopback only, once.
if [ -z "${HOOKBRIDGE_SCHEMATHESIS_NETNS:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null && unshare -n true 2>/dev/null; then
    exec unshare -n env HOOKBRIDGE_SCHEMATHESIS_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
  fi
  export HOOKBRIDGE_SCHEMATHESIS_NETNS=0
fi

venv="${VENV:-$here/.venv}"
st="$venv/bin/schemathesis"
bin="${HOOKBRIDGE_BIN:-$here/target/debug/hookbridge-local}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
seed="${SCHEMATHESIS_SEED:-20251101}"
workers="${SCHEMATHESIS_WORKERS:-1}"
[ -x "$st" ] || { echo "schemathesis not found in $venv: run 'make test' (it installs it)" >&2; exit 1; }
[ -x "$bin" ] || { echo "$bin not found: cargo build -p hookbridge-local" >&2; exit 1; }

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="$("$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))')"
work="$(mktemp -d -t hookbridge-schemathesis.XXXXXX)"
reports="${SCHEMATHESIS_REPORT_DIR:-$work/reports}"
mkdir -p "$reports"
log="$work/runner.log"
out="$work/schemathesis.out"

HOOKBRIDGE_ADDR="127.0.0.1:$port" HOOKBRIDGE_DATA_DIR="$work/data" HOOKBRIDGE_ADMIN_TOKEN="$token" \
  HOOKBRIDGE_REGISTRATION_TIMEOUT_SECS=2 RUST_LOG="${RUST_LOG:-warn}" \
  "$bin" >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

url="http://127.0.0.1:$port"
for i in $(seq 1 300); do
  if "$venv/bin/python" - "$url" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"{sys.argv[1]}/v1/openapi.json", timeout=1)
PY
  kill -0 "$pid" 2>/dev/null || { echo "hookbridge-local failed to start:" >&2; cat "$log" >&2; exit 1; }
  [ "$i" -lt 300 ] || { echo "hookbridge-local did not answer within 30 s" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done

# What no OpenAPI document can say: whether some requests are valid depends on something a
# schema cannot carry (a cursor this API minted, a key used once, a point on an elliptic
# curve, the stored resource's provider or signing scheme). `map_case` gives valid cases
# valid values where it can; `filter_failure` drops what is left only for its check,
# operation, and the stable error code and field the server answered with, and Schemathesis
# counts what was dropped in its summary. See docs/api-conformance.md.
cat >"$work/hookbridge_hooks.py" <<'PY'
import atexit
import collections
import itertools
import json
import os
import re

import schemathesis

DROPPED = collections.Counter()
SERIAL = itertools.count()
VALID_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


@atexit.register
def _report():
    with open(os.environ["HOOKBRIDGE_DROPPED"], "w") as f:
        json.dump({" ".join(k): n for k, n in DROPPED.most_common()}, f)


@schemathesis.hook
def map_case(context, case):
    """Valid data the schema cannot pin down, for valid cases only: an Idempotency-Key names
    one request (each gets its own), a cursor can only be one this API handed out (a drawn
    one is left out), SENDGRID, DISCORD and TELNYX keys are real keys, a webhook's provider is not
    repeated on update. Invalid cases are sent as drawn."""
    meta = getattr(case, "meta", None)
    if meta is None or str(meta.generation.mode) != "positive":
        return case
    headers = case.headers or {}
    for name in list(headers):
        value = headers[name]
        if name.lower() == "idempotency-key" and isinstance(value, str) and VALID_KEY.fullmatch(value):
            headers[name] = f"{value[:240]}-{next(SERIAL)}"
    if isinstance(case.query, dict) and "cursor" in case.query:
        del case.query["cursor"]
    # On update a webhook's provider may only be repeated as it is stored: left out.
    if context.operation is not None and context.operation.definition.raw.get("operationId") == "updateWebhook" \
            and isinstance(case.body, dict):
        case.body.pop("provider", None)
    # A certificate and its key are DER structures in PEM: no schema draws one. Left out.
    op_id = context.operation.definition.raw.get("operationId") if context.operation is not None else None
    if op_id in ("createConnector", "updateConnector") and isinstance(case.body, dict):
        case.body.pop("tls", None)
    # A public key is a point on its curve: a drawn string almost never is. Real ones instead.
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("providerSecret"), str) and body.get("provider") in KEYS:
        body["providerSecret"] = KEYS[body["provider"]]
    return case


KEYS = {
    "SENDGRID": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzzCSXd8ZJhGZTY8puI8wVuuav6xiC4WQ/nF8rXtpM0VUza8qPIxqTaJbFSozn/iIRrIkwYEtf8jB2i3QIPE8Mg==",
    "DISCORD": "85bb604a0cf1966d2bdcc7d5a238e5ae75f7b490733f4e212f3dd9c8e0e76912",
    "TELNYX": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
}

# (failure code, operationId or None for any, error code, field or None, message prefix or None)
ACCEPTED = [
    # A cursor is valid only as a previous page's `nextCursor`.
    ("ST202", None, "INVALID_CURSOR", None, None),
    # An Idempotency-Key names one request: reused with another query or body it is refused
    # (Schemathesis draws the same few keys for many requests).
    ("ST202", None, "VALIDATION_FAILED", "Idempotency-Key", "Idempotency-Key: was used with another request"),
    # SENDGRID's, DISCORD's and TELNYX's keys must be points on their curves, which no pattern says.
    ("ST202", "createWebhook", "VALIDATION_FAILED", "providerSecret", "providerSecret: SENDGRID needs"),
    ("ST202", "createWebhook", "VALIDATION_FAILED", "providerSecret", "providerSecret: DISCORD needs"),
    ("ST202", "createWebhook", "VALIDATION_FAILED", "providerSecret", "providerSecret: TELNYX needs"),
    # The shape of a rotated provider secret is the stored webhook's provider's.
    ("ST202", "rotateProviderSecret", "VALIDATION_FAILED", "providerSecret", None),
    ("ST202", "rotateProviderSecret", "WEBHOOK_META_SECRETS_REQUIRED", None, None),
    # A webhook's provider may be given on update only unchanged.
    ("ST202", "updateWebhook", "PROVIDER_IMMUTABLE", None, None),
    # PEM certificates and keys (left out of valid cases above; here should a drawn one pass).
    ("ST202", None, "VALIDATION_FAILED", "tls.caCertificate", None),
    ("ST202", None, "VALIDATION_FAILED", "tls.clientCertificate", None),
    ("ST202", None, "VALIDATION_FAILED", "tls.clientKey", None),
    # A rotated signing secret must suit the stored connector's scheme.
    ("ST202", "rotateSigningSecret", "VALIDATION_FAILED", "secret", None),
    # A connector that signs nothing has no signing secret (404 for that sub-resource,
    # not for the connector, which Schemathesis cannot tell apart).
    ("ST302", "getSigningSecret", "SIGNING_NOT_CONFIGURED", None, None),
    ("ST302", "rotateSigningSecret", "SIGNING_NOT_CONFIGURED", None, None),
]


@schemathesis.hook
def filter_failure(context, failure, case, response):
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return True
    if not isinstance(body, dict):
        return True
    operation = getattr(case.operation, "definition", None)
    operation_id = None
    if operation is not None:
        raw = getattr(operation, "raw", operation)
        if isinstance(raw, dict):
            operation_id = raw.get("operationId")
    message = str(body.get("message", ""))
    for code, op, error, field, prefix in ACCEPTED:
        if failure.code == code and op in (None, operation_id) and body.get("code") == error \
                and field in (None, body.get("field")) and (prefix is None or message.startswith(prefix)):
            DROPPED[(code, operation_id or "?", error)] += 1
            return False
    return True
PY

args=(
  run "$url/v1/openapi.json"
  --header "Authorization: Bearer $token"
  --include-path-regex '^/v1/'
  --checks all
  --max-examples "$max_examples"
  --seed "$seed"
  --generation-database none
  --workers "$workers"
  --request-timeout 10
  --no-color
  --report junit,ndjson --report-dir "$reports"
)
# Extra arguments for a closer look (`--output-sanitize false`, `--include-operation-id ...`).
read -r -a extra <<<"${SCHEMATHESIS_ARGS:-}"
args+=("${extra[@]}")
if [ "$HOOKBRIDGE_SCHEMATHESIS_NETNS" != 1 ]; then
  echo "no network namespace available: leaving out the operations that call external endpoints" >&2
  for op in invokeConnector activateWebhook deactivateWebhook redeliver recoverDeliveries replayFailedTrigger; do
    args+=(--exclude-operation-id "$op")
  done
fi

echo "schemathesis $("$st" --version | awk '{print $NF}') against $url/v1/openapi.json (seed $seed, at most $max_examples examples per operation)"
# Schemathesis and Hypothesis keep caches in the working directory: the temp dir, not the tree.
cd "$work"
set +e
HOOKBRIDGE_DROPPED="$work/dropped.json" PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=hookbridge_hooks \
  "$st" "${args[@]}" 2>&1 | tee "$out"
status="${PIPESTATUS[0]}"
set -e

# One line to quote: operations tested, test cases generated, failures, exit status.
tested="$(sed -n 's/^ *Tested: *\([0-9]*\).*/\1/p' "$out" | tail -1)"
cases="$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$out" | tail -1)"
failures="$(grep -E '^=+ .* in [0-9.]+s =+$' "$out" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')"
echo "schemathesis summary: ${tested:-?} operations tested, ${cases:-?} test cases generated, seed $seed; ${failures:-no summary}; exit $status"
if [ -s "$work/dropped.json" ]; then
  echo "accepted (filter_failure): $(cat "$work/dropped.json")"
fi
if [ "$status" -ne 0 ]; then
  echo "--- runner log (last 40 lines) ---" >&2
  tail -n 40 "$log" >&2 || true
fi
exit "$status"
