#!/usr/bin/env python3
"""The cost model of docs/cost.md: dollars per million ingested webhooks and the monthly
fixed cost per 1,000 registrations, from the AWS calls counted by tests/it/calls.rs, the
durations measured by `make bench-cold-start` and us-east-1 list prices. Prints the tables
docs/cost.md shows; change an input below and run it again (`python3 infra/cost_model.py`).
"""

# us-east-1 list prices (docs/cost.md names the source of each).
PRICE = {
    "apigw_http_per_m": 1.00,  # HTTP API, first 300 M requests a month
    "lambda_req_per_m": 0.20,
    "lambda_gb_s_arm": 0.0000133334,  # arm64, first tier
    "sqs_std_per_m": 0.40,  # standard queue requests (a batch of up to 10 is one request per 64 KB)
    "ddb_rru_per_m": 0.125,  # on-demand read request units
    "ddb_wru_per_m": 0.625,  # on-demand write request units
    "sm_secret_month": 0.40,
    "sm_per_10k_calls": 0.05,
    "s3_put_per_k": 0.005,
}

MEMORY_MB = 256  # the template's FunctionMemorySize default
BATCH = 10  # the fan-out's SQS batch size

# Calls per event, warm, counted by tests/it/calls.rs (GENERIC event of 1 KiB, one START
# binding).
INGRESS = {"invocations": 1, "ddb_reads": 1, "sqs": 1}
# Per batch of BATCH events: one invocation, one SendMessageBatch per bound queue, and the
# event source mapping's ReceiveMessage and DeleteMessageBatch on the events queue.
FANOUT_PER_BATCH = {"invocations": 1, "sqs_send": 1, "sqs_receive": 1, "sqs_delete": 1}

# Warm invocation durations in ms: `make bench-cold-start`, "warm invocation median", the
# median of three runs (2026-12-02: ingress 45.7, 49.0, 36.6; fan-out per batch of ten 193.6,
# 180.4, 143.8), against the emulator with IAM enforced (a Python server: its round trips for
# the ingress's two calls alone took 28.9 ms). An upper bound for AWS, where those calls stay
# in the Region. Lambda bills whole milliseconds.
DURATION_MS = {"ingress": 45.7, "fanout_batch": 180.4}


def per_million(endpoint, storage, counts=INGRESS, fanout=FANOUT_PER_BATCH, duration=DURATION_MS, memory_mb=MEMORY_MB):
    m = 1_000_000
    batches = m / BATCH
    rows = []
    if endpoint == "HTTP_API":
        rows.append(("API Gateway HTTP API requests", m * PRICE["apigw_http_per_m"] / m))
    invocations = m * counts["invocations"] + batches * fanout["invocations"]
    rows.append(("Lambda requests (ingress + fan-out)", invocations * PRICE["lambda_req_per_m"] / m))
    gb_s = (m * duration["ingress"] + batches * duration["fanout_batch"]) / 1000 * memory_mb / 1024
    rows.append((f"Lambda duration (GB-s, arm64, {memory_mb} MB)", gb_s * PRICE["lambda_gb_s_arm"]))
    sqs = m * counts["sqs"] + batches * (fanout["sqs_send"] + fanout["sqs_receive"] + fanout["sqs_delete"])
    rows.append(("SQS requests", sqs * PRICE["sqs_std_per_m"] / m))
    rows.append(("DynamoDB reads (strongly consistent, < 4 KB)", m * counts["ddb_reads"] * PRICE["ddb_rru_per_m"] / m))
    # Secrets: warm instances keep them; the per-event share is what a cache period costs,
    # charged in the fixed part below. S3: only events over 256 KiB (none at 1 KiB).
    total = sum(v for _, v in rows)
    return rows, total


def fixed_per_month(storage, registrations=1000):
    """Monthly cost per `registrations` webhooks and connectors, whatever the traffic."""
    if storage == "PER_ITEM":
        return [(f"{registrations} secrets x $0.40", registrations * PRICE["sm_secret_month"])]
    return [
        ("the data-keys secret (one per stack)", PRICE["sm_secret_month"]),
        (f"{registrations} sealed items (~2 KB each) in DynamoDB, $0.25 per GB-month", registrations * 2e-6 * 0.25),
    ]


def per_busy_webhook(storage, warm_instances=10, cache_ttl_s=30):
    """A month of one busy webhook's secret re-read once per cache period by each warm
    ingress instance."""
    rereads = warm_instances * 30 * 24 * 3600 / cache_ttl_s
    if storage == "PER_ITEM":
        return rereads * PRICE["sm_per_10k_calls"] / 10_000
    return rereads * PRICE["ddb_rru_per_m"] / 1e6


def main():
    print("| IngressEndpoint | SecretStorage | $ per million, 256 MB | $ per million, 128 MB |")
    print("|---|---|---|---|")
    for endpoint in ("FUNCTION_URL", "HTTP_API"):
        for storage in ("ENVELOPE", "PER_ITEM"):
            _, total = per_million(endpoint, storage)
            _, small = per_million(endpoint, storage, memory_mb=128)
            print(f"| {endpoint} | {storage} | {total:.3f} | {small:.3f} |")
    # The break-even: the ingress duration at which FUNCTION_URL + ENVELOPE costs $1.00.
    for mb in (256, 128):
        d = dict(DURATION_MS)
        lo, hi = 0.0, 500.0
        for _ in range(50):
            d["ingress"] = (lo + hi) / 2
            lo, hi = (d["ingress"], hi) if per_million("FUNCTION_URL", "ENVELOPE", duration=d, memory_mb=mb)[1] < 1.0 else (lo, d["ingress"])
        print(f"FUNCTION_URL + ENVELOPE stays within $1.00 at {mb} MB while the ingress takes under {lo:.1f} ms (fan-out as measured)")
    print()
    for endpoint in ("FUNCTION_URL", "HTTP_API"):
        rows, total = per_million(endpoint, "ENVELOPE")
        print(f"{endpoint}:")
        for name, v in rows:
            print(f"  {name}: ${v:.4f}")
        print(f"  total: ${total:.4f}")
    print()
    for storage in ("ENVELOPE", "PER_ITEM"):
        rows = fixed_per_month(storage)
        print(f"{storage}, per month for 1,000 registrations:")
        for name, v in rows:
            print(f"  {name}: ${v:.4f}")
        print(f"  total: ${sum(v for _, v in rows):.2f}")
        print(f"  plus, per busy webhook (10 warm ingress instances, 30 s cache): ${per_busy_webhook(storage):.2f}")


if __name__ == "__main__":
    main()
