#!/usr/bin/env python3
"""Policy rules for template.yaml that cfn-lint does not check (run by `make lint`):

- no IAM statement allows `Resource: "*"` (review L4: ListSecrets on "*");
- no SQS statement names every queue of the account (review L4: confused deputy);
- every function's writes to the table carry a dynamodb:LeadingKeys condition, except the
  management API's (it owns every item);
- the dispatch function outlives its slowest connector call (60 s) with margin, and its
  queue's visibility timeout is at least six times the function timeout (review M8);
- the functions that run conditional transactions may (review H2, M5).

Exits non-zero naming each broken rule.
"""

import sys

import yaml

sys.path.insert(0, __import__("os").path.dirname(__file__))
from moto_iam import Loader  # noqa: E402

MAX_CONNECTOR_TIMEOUT_S = 60
WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:TransactWriteItems"}


def as_list(x):
    return x if isinstance(x, list) else [x]


def main(path):
    with open(path) as f:
        t = yaml.load(f, Loader=Loader)
    res = t["Resources"]
    errors = []
    for name, r in res.items():
        if r["Type"] != "AWS::Serverless::Function":
            continue
        props = r["Properties"]
        actions = set()
        for policy in props.get("Policies", []):
            for st in policy["Statement"]:
                acts = set(as_list(st["Action"]))
                actions |= acts
                resources = as_list(st["Resource"])
                if "*" in resources:
                    errors.append(f"{name}: {sorted(acts)} on Resource '*'")
                for resource in resources:
                    text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else str(resource)
                    if isinstance(text, str) and text.endswith(":${AWS::AccountId}:*") and any(
                        a.startswith("sqs:") for a in acts
                    ):
                        errors.append(f"{name}: SQS actions on every queue of the account")
                if acts & WRITES and name != "ManagementFunction" and "Condition" not in st:
                    errors.append(f"{name}: table writes {sorted(acts & WRITES)} without a LeadingKeys condition")
        if name in ("IngressFunction", "DispatchFunction") and "dynamodb:TransactWriteItems" not in actions:
            errors.append(f"{name}: needs dynamodb:TransactWriteItems (conditional transactions)")
    timeout = res["DispatchFunction"]["Properties"].get("Timeout", t["Globals"]["Function"]["Timeout"])
    if timeout < MAX_CONNECTOR_TIMEOUT_S + 30:
        errors.append(f"DispatchFunction: Timeout {timeout} s leaves no margin over a {MAX_CONNECTOR_TIMEOUT_S} s call")
    visibility = res["DispatchQueue"]["Properties"]["VisibilityTimeout"]
    if visibility < 6 * timeout:
        errors.append(f"DispatchQueue: VisibilityTimeout {visibility} s is under six times the function's {timeout} s")
    for e in errors:
        print(f"template policy: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
