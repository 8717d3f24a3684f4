#!/usr/bin/env python3
"""Turns moto's IAM enforcement on and gives each Lambda function of template.yaml a user
holding exactly that function's policy, read from the template now (not a copy).

Run by infra/with-moto.sh right after the server starts: the first three IAM actions are
free (moto's INITIAL_NO_AUTH_ACTION_COUNT, set through /moto-api/reset-auth); they create an
administrator, and every later call, these scripts' and the tests', must be signed by a
known user whose policies allow it.

What moto can check, and so what this proves (see RELIABILITY.md):
- actions, for every service;
- resources for SQS (the queue's ARN) and S3 (bucket and key ARNs). For DynamoDB and
  Secrets Manager moto authorizes against the resource "*", so statements naming only
  those services are given Resource "*" here: their actions are checked, their ARNs are not.
- Conditions (dynamodb:LeadingKeys) are not evaluated by moto and are left out here.
- moto authorizes sqs:GetQueueUrl against "*" (it names no queue URL yet): that action is
  granted on "*" here (it reveals a URL, nothing more); sending still needs the queue ARN.

The template's per-stack names become patterns matching the names the tests create:
tables `hookbridge-*`, buckets `hookbridge-payloads-*`, queues `*hookbridge-events` etc.,
secrets under `test-*/`. SAM adds a poller policy for each SQS event source; so does this.

Usage: moto_iam.py TEMPLATE ENDPOINT OUT.json
"""

import json
import re
import sys
import urllib.request

import yaml

ACCOUNT = "123456789012"
REGION = "us-east-1"
FUNCTIONS = ["IngressFunction", "FanoutFunction", "DispatchFunction", "ManagementFunction"]

# Logical resources -> the ARNs (patterns) of what the tests create for them.
GETATT = {
    ("Table", "Arn"): f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/hookbridge-*",
    ("PayloadBucket", "Arn"): "arn:aws:s3:::hookbridge-payloads-*",
    ("EventsQueue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:*hookbridge-events",
    ("EventsDeadLetterQueue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:*hookbridge-events-dlq",
    ("DispatchQueue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:*hookbridge-dispatch",
    ("DispatchDeadLetterQueue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:*hookbridge-dispatch-dlq",
}
REFS = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    # Test secret prefixes are `test-<hex>/` (see tests/src/lib.rs).
    "AWS::StackName": "test-*",
    # Test queues are `q-<hex>-<name>`; the internal ones end in their own names.
    "ProcessQueuePrefix": "q-",
}
# SQS batch calls are authorized by their single-message action in AWS; moto checks the
# batch action's own name.
BATCH_EQUIVALENTS = {
    "sqs:SendMessage": "sqs:SendMessageBatch",
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
}
SQS_POLLER = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]


class Loader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


Loader.add_multi_constructor("!", _tag)


def resolve(v):
    if isinstance(v, list):
        return [resolve(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "Ref" in v and len(v) == 1:
        return REFS.get(v["Ref"], v["Ref"])
    if "Fn::GetAtt" in v:
        res, attr = v["Fn::GetAtt"]
        return GETATT[(res, attr)]
    if "Fn::Sub" in v:
        text = v["Fn::Sub"]

        def sub(m):
            name = m.group(1)
            if "." in name:
                return GETATT[tuple(name.split(".", 1))]
            return REFS[name]

        return re.sub(r"\$\{([^}]+)\}", sub, text)
    return {k: resolve(x) for k, x in v.items()}


def as_list(x):
    return x if isinstance(x, list) else [x]


def function_policy(template, function):
    props = template["Resources"][function]["Properties"]
    statements = []
    for policy in props.get("Policies", []):
        for st in policy["Statement"]:
            st = resolve(st)
            st.pop("Condition", None)
            actions = as_list(st["Action"])
            actions += [BATCH_EQUIVALENTS[a] for a in actions if a in BATCH_EQUIVALENTS]
            st["Action"] = actions
            if all(a.split(":")[0] in ("dynamodb", "secretsmanager") for a in actions):
                st["Resource"] = "*"
            if "sqs:GetQueueUrl" in actions:
                statements.append({"Effect": "Allow", "Action": ["sqs:GetQueueUrl"], "Resource": "*"})
            statements.append(st)
    for event in props.get("Events", {}).values():
        if event["Type"] == "SQS":
            queue = resolve(event["Properties"]["Queue"])
            actions = SQS_POLLER + [BATCH_EQUIVALENTS[a] for a in SQS_POLLER if a in BATCH_EQUIVALENTS]
            statements.append({"Effect": "Allow", "Action": actions, "Resource": queue})
    return {"Version": "2012-10-17", "Statement": statements}


def main():
    # Imported here: infra/check_template.py (make lint) reuses this file's YAML loader
    # without the emulator's client libraries.
    import boto3

    template_path, endpoint, out = sys.argv[1:4]
    with open(template_path) as f:
        template = yaml.load(f, Loader=Loader)
    policies = {fn: function_policy(template, fn) for fn in FUNCTIONS}

    req = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"3", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(req, timeout=5).read()

    def iam(key=None, secret=None):
        return boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key or "bootstrap",
            aws_secret_access_key=secret or "bootstrap",
        )

    # The three free actions: an administrator for the tests' own setup.
    boot = iam()
    boot.create_user(UserName="hookbridge-test-admin")
    boot.put_user_policy(
        UserName="hookbridge-test-admin",
        PolicyName="admin",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    admin_key = boot.create_access_key(UserName="hookbridge-test-admin")["AccessKey"]
    creds = {"admin": {"accessKeyId": admin_key["AccessKeyId"], "secretAccessKey": admin_key["SecretAccessKey"]}}

    admin = iam(admin_key["AccessKeyId"], admin_key["SecretAccessKey"])
    for fn, policy in policies.items():
        user = f"hookbridge-test-{fn}"
        admin.create_user(UserName=user)
        admin.put_user_policy(UserName=user, PolicyName=fn, PolicyDocument=json.dumps(policy))
        key = admin.create_access_key(UserName=user)["AccessKey"]
        creds[fn] = {
            "accessKeyId": key["AccessKeyId"],
            "secretAccessKey": key["SecretAccessKey"],
            "policy": policy,
        }
    with open(out, "w") as f:
        json.dump(creds, f, indent=1)


if __name__ == "__main__":
    main()
