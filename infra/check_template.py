#!/usr/bin/env python3
"""Policy rules for template.yaml that cfn-lint does not check (run by `make lint`):

- no IAM statement allows `Resource: "*"` (review L4: ListSecrets on "*");
- no SQS statement names every queue of the account (review L4: confused deputy);
- every function's writes to the table carry a dynamodb:LeadingKeys condition, except the
  management API's (it owns every item);
- the dispatch function outlives its slowest connector call (60 s) with margin, and its
  queue's visibility timeout is at least six times the function timeout (review M8);
- the functions that run conditional transactions may (review H2, M5);
- the ingress may write sealed secrets of webhooks only (`SECRET#hookbridge/webhooks/*`);
- the dashboard body is JSON, and every `hookbridge` metric the alarms and the dashboard
  read is one `shared/src/metrics.rs` emits.

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
    errors += metric_errors(t, res)
    for e in errors:
        print(f"template policy: {e}", file=sys.stderr)
    return 1 if errors else 0


def metric_errors(t, res):
    import json
    import os
    import re

    errors = []
    source = open(os.path.join(os.path.dirname(__file__), "..", "shared", "src", "metrics.rs")).read()
    emitted = set(re.findall(r'\("([A-Z][A-Za-z]+)", (?:None|Some)', source)) | {"DeliveryLatency"}
    ingress = res["IngressFunction"]["Properties"]["Policies"]
    for policy in ingress:
        for st in policy["Statement"]:
            keys = st.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys", [])
            if any(k.startswith("SECRET#") and k != "SECRET#hookbridge/webhooks/*" for k in keys):
                errors.append(f"IngressFunction: writes secrets beyond webhooks' ({keys})")
    used = set()
    for name, r in res.items():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::CloudWatch::Alarm":
            if props.get("Namespace") == "hookbridge":
                used.add(props["MetricName"])
            for m in props.get("Metrics", []):
                metric = m.get("MetricStat", {}).get("Metric", {})
                if metric.get("Namespace") == "hookbridge":
                    used.add(metric["MetricName"])
        if r["Type"] == "AWS::CloudWatch::Dashboard":
            body = props["DashboardBody"]
            text = body[0] if isinstance(body, list) else body.get("Fn::Sub", body)
            text = text[0] if isinstance(text, list) else text
            try:
                doc = json.loads(re.sub(r"\$\{[^}]+\}", "x", text))
            except ValueError as e:
                errors.append(f"{name}: the dashboard body is not JSON: {e}")
                continue
            for w in doc["widgets"]:
                for m in w["properties"].get("metrics", []):
                    if m and m[0] == "hookbridge":
                        used.add(m[1])
                    for part in m:
                        if isinstance(part, dict) and "expression" in part:
                            used |= set(re.findall(r'MetricName=\\?"([A-Za-z]+)', part["expression"]))
    for metric in sorted(used - emitted):
        errors.append(f"metric hookbridge/{metric} is read by an alarm or the dashboard but never emitted")
    if not used:
        errors.append("no alarm or dashboard reads a hookbridge metric")
    return errors


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
