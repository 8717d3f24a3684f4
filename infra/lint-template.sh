#!/usr/bin/env bash
# cfn-lint on template.yaml with every combination of the parameters that change which
# resources exist (conditions), then `sam validate --lint` when the SAM CLI is installed
# (make tools installs it), then the template's own policy rules (infra/check_template.py).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$here/.venv}"
template="$here/template.yaml"
runs=0
for endpoint in HTTP_API FUNCTION_URL; do
  for auth in IAM JWT; do
    for storage in ENVELOPE PER_ITEM; do
      for tracing in Active PassThrough; do
        params=(IngressEndpoint=$endpoint ManagementAuth=$auth SecretStorage=$storage XRayTracing=$tracing AlarmTopicArn=arn:aws:sns:us-east-1:123456789012:ops)
        if [ "$auth" = JWT ]; then
          params+=(OidcIssuer=https://idp.example.com OidcAudience=hookbridge-api OidcClientId=console OidcScope=hookbridge/admin)
        fi
        "$venv/bin/cfn-lint" --parameters "${params[@]}" -- "$template" || { echo "cfn-lint failed with ${params[*]}" >&2; exit 1; }
        runs=$((runs + 1))
      done
    done
  done
done
"$venv/bin/cfn-lint" -- "$template"   # the defaults
echo "cfn-lint: clean with $((runs + 1)) parameter combinations"
sam="${SAM:-$here/.venv-sam/bin/sam}"
if [ -x "$sam" ]; then
  (cd "$here" && AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0 "$sam" validate --lint --template "$template")
else
  echo "sam validate --lint skipped: the SAM CLI is not installed (make tools installs it)"
fi
"$venv/bin/python" "$here/infra/check_template.py" "$template"
