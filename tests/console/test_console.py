"""The console, end to end, in headless Chromium (Debian's package, driven by Playwright).

Each test starts the local runner (`target/debug/hookbridge-local`) on a free port with a
fresh data directory and drives the pages as an operator would: by their labels and roles,
the keyboard where a menu is involved. What the page shows is checked against what really
happened: requests sent over sockets to the ingress, messages on the local queues, requests
a test receiver got. The OpenID Connect test starts a small issuer (authorization code +
PKCE, RS256 tokens, JWKS) and the runner checks the console's token as API Gateway's JWT
authorizer would.

`CONSOLE_SCREENSHOTS=<dir>` saves a screenshot of each page there (`make console-screenshots`
writes docs/console/).
"""

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("HOOKBRIDGE_BIN", ROOT / "target/debug/hookbridge-local"))
CHROMIUM = os.environ.get("HOOKBRIDGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")
TOKEN = "console-test-admin-token"
# The flags a sandboxed machine needs: no background traffic to Google, no GPU, root.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]

expect.set_options(timeout=15_000)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def http(method, url, body=None, headers=None):
    """(status, parsed JSON or text) of one request over a real socket."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


class Runner:
    """The local runner as its own process; its banner says where it listens."""

    def __init__(self, **env):
        self.dir = tempfile.mkdtemp(prefix="hookbridge-console-")
        self.lines = []  # what it printed: its logs go to stdout
        full = {**os.environ, "HOOKBRIDGE_ADDR": "127.0.0.1:0", "HOOKBRIDGE_DATA_DIR": self.dir,
                "HOOKBRIDGE_ADMIN_TOKEN": TOKEN, "RUST_LOG": "info", **env}
        self.proc = subprocess.Popen([str(BIN)], env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.search(r"running on (http://\S+)", line)
            if m:
                break
        assert m, f"no banner: {self.lines!r}"
        self.base = m.group(1)
        # Keep reading, so the runner never blocks on a full pipe and its logs can be checked.
        threading.Thread(target=lambda: [self.lines.append(x) for x in self.proc.stdout], daemon=True).start()

    def admin(self, method, path, body=None, token=TOKEN):
        return http(method, self.base + path, body, {"Authorization": f"Bearer {token}"})

    def logs(self):
        return re.sub(r"\x1b\[[0-9;]*m", "", "".join(self.lines))  # without colours

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)


class Receiver:
    """A customer endpoint: records each request and answers 200."""

    def __init__(self):
        self.requests = []
        got = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                got.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                out = b'{"received": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class Issuer:
    """A small OpenID Connect issuer: discovery, authorization code with PKCE (S256 only),
    RS256 tokens, JWKS. It signs in "alice" without asking, as a signed-in session would."""

    CLIENT = "hookbridge-console"
    AUDIENCE = "hookbridge-api"

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.codes = {}
        self.exchanges = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self, status, body=None, headers=None):
                out = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                # The console calls the token endpoint from its own origin.
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                if u.path == "/.well-known/openid-configuration":
                    return self.answer(200, {
                        "issuer": issuer.url, "authorization_endpoint": issuer.url + "/authorize",
                        "token_endpoint": issuer.url + "/token", "jwks_uri": issuer.url + "/jwks",
                        "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                    })
                if u.path == "/jwks":
                    pub = issuer.key.public_key().public_numbers()
                    n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
                    return self.answer(200, {"keys": [{"kty": "RSA", "kid": issuer.kid, "use": "sig", "alg": "RS256",
                                                       "n": b64url(n), "e": b64url(pub.e.to_bytes(3, "big"))}]})
                if u.path == "/authorize":
                    ok = (q.get("response_type") == "code" and q.get("client_id") == Issuer.CLIENT
                          and q.get("code_challenge_method") == "S256" and q.get("code_challenge"))
                    if not ok:
                        return self.answer(400, {"error": "invalid_request"})
                    code = secrets.token_urlsafe(16)
                    issuer.codes[code] = (q["code_challenge"], q["redirect_uri"])
                    sep = "&" if "?" in q["redirect_uri"] else "?"
                    loc = f"{q['redirect_uri']}{sep}code={code}&state={urllib.parse.quote(q['state'])}"
                    return self.answer(302, headers={"Location": loc})
                return self.answer(404, {"error": "not_found"})

            def do_POST(self):
                form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()))
                if self.path != "/token":
                    return self.answer(404, {"error": "not_found"})
                challenge, redirect = issuer.codes.pop(form.get("code"), (None, None))
                verifier = form.get("code_verifier", "")
                good = (challenge is not None and form.get("grant_type") == "authorization_code"
                        and form.get("client_id") == Issuer.CLIENT and form.get("redirect_uri") == redirect
                        and b64url(hashlib.sha256(verifier.encode()).digest()) == challenge)
                issuer.exchanges.append(good)
                if not good:
                    return self.answer(400, {"error": "invalid_grant"})
                return self.answer(200, {"token_type": "Bearer", "expires_in": 300,
                                         "access_token": issuer.token(Issuer.AUDIENCE),
                                         "id_token": issuer.token(Issuer.CLIENT)})

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    SCOPE = "hookbridge/admin"

    def token(self, audience, sub="alice", key=None, alg="RS256", scope="openid hookbridge/admin"):
        now = int(time.time())
        header = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": self.kid}).encode())
        claims = b64url(json.dumps({"iss": self.url, "sub": sub, "aud": audience, "email": f"{sub}@example.com",
                                    "scope": scope, "iat": now, "exp": now + 300}).encode())
        signing_input = f"{header}.{claims}".encode()
        signature = (key or self.key).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{claims}.{b64url(signature)}"

    def stop(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (make test does, as root)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page_of(browser):
    """A fresh browser context for a runner; fails the test on any page error or blocked
    resource (a Content-Security-Policy violation shows as a console error)."""
    contexts, problems = [], []
    shown = []  # the errors the console showed its user

    def make(base):
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: m.type == "warning" and m.text.startswith("hookbridge: ") and shown.append(m.text))
        page.shown_errors = shown
        page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
                and problems.append(f"console: {m.text}"))
        return page

    yield make
    for c in contexts:
        c.close()
    assert not problems, problems


def wait_until(check, what, timeout=15):
    """Polls `check` until it holds (a condition, not a fixed wait)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def open_menu_item(page, row_name, item):
    page.get_by_role("button", name=f"Actions for {row_name}").click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def create_webhook(page, name, binding):
    page.get_by_role("link", name="Manage Triggers").click()
    page.get_by_role("button", name="New webhook").click()
    form = page.get_by_role("dialog", name="New webhook")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Organization").fill("acme")
    form.get_by_label("Workspace").fill("ops")
    form.get_by_label("App", exact=True).fill("shop")
    form.get_by_label("Provider", exact=True).select_option("GENERIC")
    form.get_by_role("button", name="Save").click()
    edit = page.get_by_role("dialog", name=f"Edit {name}")
    edit.get_by_label("Binding type").select_option(binding["type"])
    for label, value in binding["fields"].items():
        edit.get_by_label(label, exact=True).fill(value)
    edit.get_by_role("button", name="Add binding").click()
    expect(edit.get_by_role("button", name=re.compile("^Remove binding"))).to_have_count(1)
    return edit


def webhook_url(page, name):
    open_menu_item(page, name, "Get URL")
    dialog = page.get_by_role("dialog", name=f"URL of {name}")
    url = dialog.get_by_label("Webhook URL").input_value()
    return dialog, url


def test_operator_walkthrough(page_of):
    runner, receiver = Runner(), Receiver()
    try:
        page = page_of(runner.base)
        page.goto(runner.base + "/console")
        shot(page, "sign-in")
        page.get_by_label("Admin token").fill("not-the-token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("not accepted")
        page.get_by_label("Admin token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('hookbridge.token')") == TOKEN
        assert page.evaluate("localStorage.length") == 0

        # A start webhook through the form: the name rules are shown as one types.
        page.get_by_role("link", name="Manage Triggers").click()
        page.get_by_role("button", name="New webhook").click()
        form = page.get_by_role("dialog", name="New webhook")
        form.get_by_label("Name", exact=True).fill("no")
        expect(form.get_by_text("Not a valid name")).to_be_visible()
        form.get_by_label("Provider", exact=True).select_option("META")
        expect(form.get_by_label("Verify token")).to_be_visible()
        expect(form.get_by_label("App secret")).to_be_visible()
        form.get_by_label("Provider", exact=True).select_option("GENERIC_HMAC")
        expect(form.get_by_label("Timestamp header")).to_be_visible()
        shot(page, "webhook-form")
        # A Slack webhook, then its provider secret rotated from the form.
        form.get_by_label("Name", exact=True).fill("slack-in")
        form.get_by_label("Organization").fill("acme")
        form.get_by_label("Workspace").fill("ops")
        form.get_by_label("App", exact=True).fill("shop")
        form.get_by_label("Provider", exact=True).select_option("SLACK")
        form.get_by_label("Provider secret").fill("slack-signing-secret-1")
        form.get_by_role("button", name="Save").click()
        slack = page.get_by_role("dialog", name="Edit slack-in")
        rotation = slack.get_by_role("region", name="Rotate provider secret")
        rotation.get_by_label("Provider secret").fill("slack-signing-secret-2")
        rotation.get_by_label("Overlap (seconds)").fill("0")
        rotation.get_by_role("button", name="Rotate provider secret").click()
        expect(page.locator("#toast")).to_contain_text("Provider secret rotated")
        slack.get_by_role("button", name="Close").click()
        edit = create_webhook(page, "orders-in", {"type": "START_PROCESS", "fields": {
            "Queue": "orders-start", "Process definition ID": "order-process"}})
        shot(page, "webhook-bindings")
        edit.get_by_role("button", name="Close").click()

        # Activate from the row menu; the table shows it.
        row = page.get_by_role("row", name=re.compile("orders-in"))
        expect(row).to_contain_text("Deactivated")
        open_menu_item(page, "orders-in", "Activate")
        expect(row).to_contain_text("Active")
        expect(row).to_contain_text("Start process")
        expect(row).to_contain_text("acme / ops / shop")
        shot(page, "manage-triggers")

        # Get URL by keyboard: the menu opens on ArrowDown at its first enabled item.
        page.get_by_role("button", name="Actions for orders-in").focus()
        page.keyboard.press("ArrowDown")
        expect(page.get_by_role("menuitem", name="Deactivate")).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(page.get_by_role("menuitem", name="Get URL")).to_be_focused()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="URL of orders-in")
        url = dialog.get_by_label("Webhook URL").input_value()
        dialog.get_by_role("button", name="Copy").click()
        expect(dialog.get_by_text("Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == url
        assert "/webhooks/generic/acme/ops/shop/" in url
        shot(page, "get-url")

        # An event to the copied URL is queued for the process, and counted.
        status, answer = http("POST", url, {"order": 1})
        assert status == 200, answer
        status, got = runner.admin("POST", "/local/queues/orders-start/receive?max=10&wait=5")
        assert status == 200 and len(got["messages"]) == 1, got
        assert got["messages"][0]["body"]["processDefinitionId"] == "order-process"
        dialog.get_by_role("button", name="Close").click()
        page.get_by_role("link", name="Overview").click()
        hour = page.get_by_role("region", name="Last hour")
        expect(hour.locator('[data-stat="eventsAccepted"] .n')).to_have_text("1")
        expect(hour.locator('[data-stat="processMessagesSent"] .n')).to_have_text("1")

        # Reset the key: the dialog says the old URL stops working, then shows the new one.
        page.get_by_role("link", name="Manage Triggers").click()
        dialog, old = webhook_url(page, "orders-in")
        dialog.get_by_role("button", name="Reset API Key").click()
        confirm = page.get_by_role("dialog", name="Reset API Key")
        expect(confirm).to_contain_text("old URL stops working")
        confirm.get_by_role("button", name="Reset").click()
        expect(dialog.get_by_label("Webhook URL")).not_to_have_value(old)
        new = dialog.get_by_label("Webhook URL").input_value()
        status, refused = http("POST", old, {"order": 2})
        assert (status, refused["code"]) == (401, "API_KEY_INVALID"), refused
        assert http("POST", new, {"order": 3})[0] == 200
        dialog.get_by_role("button", name="Close").click()
        page.get_by_role("link", name="Overview").click()
        expect(hour.locator('[data-stat="eventsRefusedTotal"] .n')).to_have_text("1")
        expect(hour.get_by_role("cell", name="API_KEY_INVALID")).to_be_visible()
        shot(page, "overview")

        # A resume webhook: an event nobody waits for is refused and kept as a failed trigger.
        edit = create_webhook(page, "payments-in", {"type": "RESUME_PROCESS", "fields": {
            "Queue": "payments-resume", "Catch event ID": "payment-received", "Webhook correlation key": "paymentId",
            "Process correlation key": "paymentId", "Process key": "payment"}})
        edit.get_by_role("button", name="Close").click()
        open_menu_item(page, "payments-in", "Activate")
        expect(page.get_by_role("row", name=re.compile("payments-in"))).to_contain_text("Resume process")
        dialog, pay_url = webhook_url(page, "payments-in")
        dialog.get_by_role("button", name="Close").click()
        status, refused = http("POST", pay_url, {"paymentId": "P-1"})
        assert (status, refused["code"]) == (422, "NO_WAITING_INSTANCE"), refused

        page.get_by_role("link", name="Failed Triggers").click()
        failed = page.get_by_role("row", name=re.compile("NO_WAITING_INSTANCE"))
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("payment-received")
        expect(failed).to_contain_text("Ingress")
        expect(failed).to_contain_text("correlationValue: P-1")
        shot(page, "failed-triggers")
        # Still nobody waiting: the replay is refused and says why.
        failed.get_by_role("button", name=re.compile("^Replay")).click()
        expect(page.locator("#toast")).to_contain_text("NO_WAITING_INSTANCE")
        # An instance starts waiting; replaying the selection resumes it.
        binding = failed.locator("td").nth(6).inner_text()
        webhook = failed.locator("td").nth(4).inner_text()
        status, _ = runner.admin("PUT", f"/v1/webhooks/{webhook}/waiters/instance-7",
                                 {"bindingId": binding, "correlationValue": "P-1"})
        assert status == 200
        failed.get_by_role("checkbox").check()
        page.get_by_role("button", name="Replay selected").click()
        expect(page.locator("#toast")).to_contain_text("Replayed 1 of 1")
        expect(page.get_by_role("row", name=re.compile("NO_WAITING_INSTANCE"))).to_contain_text("Replayed")
        status, got = runner.admin("POST", "/local/queues/payments-resume/receive?max=10&wait=5")
        assert len(got["messages"]) == 1 and got["messages"][0]["body"]["processInstanceId"] == "instance-7", got

        # A connector through its form, a test event, and its delivery.
        page.get_by_role("link", name="Connectors").click()
        page.get_by_role("button", name="New connector").click()
        form = page.get_by_role("dialog", name="New connector")
        form.get_by_label("Name", exact=True).fill("audit-sink")
        form.get_by_label("Base URL").fill(receiver.url)
        form.get_by_label("Path", exact=True).fill("events")
        form.get_by_label("Authentication type").select_option("BEARER")
        form.get_by_label("Token", exact=True).fill("receiver-bearer-token")
        form.get_by_label("Headers").fill("X-Tenant: acme")
        form.get_by_label("Signing scheme").select_option("STANDARD_WEBHOOKS")
        warning = form.get_by_text("certificates are not verified")
        expect(warning).to_be_hidden()
        form.get_by_label("Trust Any Certificate").check()
        expect(warning).to_be_visible()
        shot(page, "connector-form")
        form.get_by_label("Trust Any Certificate").uncheck()
        form.get_by_label("Retry schedule (seconds)").fill("5, 30, 300")
        form.get_by_role("button", name="Save").click()
        expect(page.get_by_role("row", name=re.compile("audit-sink"))).to_contain_text("STANDARD_WEBHOOKS")
        shot(page, "connectors")
        open_menu_item(page, "audit-sink", "Send test event")
        test = page.get_by_role("dialog", name="Send test event to audit-sink")
        test.get_by_role("button", name="Send").click()
        expect(test).to_contain_text("Receiver answered 200")
        expect(test.get_by_label("Receiver's answer")).to_contain_text('"received": true')
        assert len(receiver.requests) == 1
        sent = receiver.requests[0]
        assert sent["path"] == "/events"
        assert sent["headers"]["authorization"] == "Bearer receiver-bearer-token"
        assert sent["headers"]["x-tenant"] == "acme" and sent["headers"]["webhook-signature"].startswith("v1,")
        test.get_by_role("button", name="Close").click()
        open_menu_item(page, "audit-sink", "Signing secret")
        secret = page.get_by_role("dialog", name="Signing secret of audit-sink")
        expect(secret.get_by_label("Signing secret")).to_have_value(re.compile("^whsec_"))
        secret.get_by_role("button", name="Close").click()

        page.get_by_role("link", name="Deliveries").click()
        expect(page.get_by_role("heading", name="Deliveries", exact=True)).to_be_visible()
        page.get_by_label("Connector", exact=True).select_option(label="audit-sink")
        page.get_by_role("button", name="Show").click()
        delivery = page.get_by_role("row", name=re.compile("console.test"))
        expect(delivery).to_contain_text("SUCCEEDED")
        delivery.locator("summary").click()
        expect(delivery.get_by_role("cell", name="200", exact=True)).to_be_visible()
        event_id = json.loads(sent["body"])["id"]
        page.get_by_label("Event ID").fill(event_id)
        page.get_by_role("button", name="Look up").click()
        found = page.get_by_role("region", name="Deliveries of the event")
        expect(found.get_by_role("row", name=re.compile("audit-sink.*SUCCEEDED.*200"))).to_be_visible()
        shot(page, "deliveries")

        page.get_by_role("link", name="Overview").click()
        expect(hour.locator('[data-stat="deliveriesSucceeded"] .n')).to_have_text("1")
        # Redeliver from the Deliveries page: the receiver gets the event again.
        page.get_by_role("link", name="Deliveries").click()
        page.get_by_label("Connector", exact=True).select_option(label="audit-sink")
        page.get_by_role("button", name="Show").click()
        page.get_by_role("button", name=re.compile("^Redeliver")).click()
        expect(page.locator("#toast")).to_contain_text("Queued for redelivery")
        wait_until(lambda: len(receiver.requests) == 2, "the redelivery")
        assert json.loads(receiver.requests[1]["body"])["id"] == event_id
        # The one error shown was the refused replay.
        assert len(page.shown_errors) == 1 and "NO_WAITING_INSTANCE" in page.shown_errors[0], page.shown_errors

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Admin token")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('hookbridge.token')") is None
    finally:
        receiver.stop()
        runner.stop()


def test_oidc_sign_in_with_pkce(page_of):
    issuer = Issuer()
    runner = Runner(HOOKBRIDGE_OIDC_ISSUER=issuer.url, HOOKBRIDGE_OIDC_CLIENT_ID=Issuer.CLIENT,
                    HOOKBRIDGE_OIDC_AUDIENCE=Issuer.AUDIENCE, HOOKBRIDGE_OIDC_REQUIRED_SCOPE=Issuer.SCOPE)
    try:
        # The policy lets the page reach the issuer's token endpoint, and nothing else outside.
        status, config = http("GET", runner.base + "/console/config.json")
        assert config["signIn"] == "OIDC" and config["tokenEndpoint"] == issuer.url + "/token", config
        page = page_of(runner.base)
        page.goto(runner.base + "/console")
        expect(page.get_by_label("Admin token")).to_have_count(0)
        shot(page, "sign-in-oidc")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        expect(page.locator("#who")).to_have_text("alice@example.com")
        expect(page.get_by_role("region", name="Last hour")).to_be_visible()
        assert issuer.exchanges == [True]
        assert "code=" not in page.url
        token = page.evaluate("sessionStorage.getItem('hookbridge.token')")
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["aud"] == Issuer.AUDIENCE

        # The API takes that token and logs its subject as the caller of a change.
        status, made = runner.admin("POST", "/v1/webhooks", {
            "name": "by-alice", "provider": "GENERIC", "location": {"orgId": "o", "workspaceId": "w", "appId": "a"}},
            token=token)
        assert status == 201, made
        assert "caller=jwt:alice" in runner.logs()
        # Not a token for this API, without the operators' scope, not from this issuer, or
        # not signed: refused.
        assert runner.admin("GET", "/v1/webhooks", token=issuer.token(Issuer.AUDIENCE, scope="openid"))[0] == 401
        assert runner.admin("GET", "/v1/webhooks", token=issuer.token("another-api"))[0] == 401
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert runner.admin("GET", "/v1/webhooks", token=issuer.token(Issuer.AUDIENCE, key=stranger))[0] == 401
        head, body, _ = token.split(".")
        assert runner.admin("GET", "/v1/webhooks", token=f"{head}.{body}.")[0] == 401
        # The admin token still works beside it.
        assert runner.admin("GET", "/v1/webhooks")[0] == 200
    finally:
        runner.stop()
        issuer.stop()
