"""A partner's server, in Python with the standard library only (plus `standardwebhooks`):
it creates an onboarding session with the partner API, renders a page embedding the widget
with the session's token, and verifies the proxy's webhooks before trusting them.

  PROXY_URL               where the proxy runs, e.g. http://127.0.0.1:8080
  PARTNER_API_KEY         one of the proxy's PARTNER_API_KEYS (stays on this server)
  PARTNER_WEBHOOK_SECRET  the proxy's PARTNER_WEBHOOK_SECRET (whsec_...)
  PORT                    where this server listens (default 3000; 0: any free port)
"""

import html
import json
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is required (see README.md)")
    return value


PROXY_URL = need("PROXY_URL").rstrip("/")
API_KEY = need("PARTNER_API_KEY")
WEBHOOK = Webhook(need("PARTNER_WEBHOOK_SECRET"))
PORT = int(os.environ.get("PORT", "3000"))

# What the webhooks said, per customer_ref, and the webhook-id values already handled
# (deliveries are at least once).
learned: dict = {}
seen: set = set()
lock = threading.Lock()


def create_session(customer_ref: str) -> dict:
    body = json.dumps({"customer_ref": customer_ref, "modes": ["standard", "coexistence"]})
    request = urllib.request.Request(
        f"{PROXY_URL}/api/partner/sessions",
        data=body.encode(),
        method="POST",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def in_script(value) -> str:
    """JSON for a <script> block: `<` escaped so no value can close the element."""
    return json.dumps(value).replace("<", "\\u003c")


def page(session: dict) -> str:
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Connect WhatsApp</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
  <h1>Connect your WhatsApp number</h1>
  <div id="signup"></div>
  <p>Our server says: <output id="server-status" data-customer-ref="{html.escape(session["customer_ref"])}">waiting</output></p>
</main>
<script type="module">
  const proxyUrl = {in_script(PROXY_URL)};
  const session = {in_script(session["token"])};
  await import(proxyUrl + '/embed.js');
  window.WaSignup.mount(document.getElementById('signup'), {{ session }});
  // The widget's events only update this page; what this server learned comes from the
  // signed webhooks (GET /status below).
  const out = document.getElementById('server-status');
  let polling = false;
  document.addEventListener('wa-signup:onboarding', async () => {{
    if (polling) return;
    polling = true;
    for (let i = 0; i < 60; i++) {{
      const res = await fetch('/status?customer_ref=' + encodeURIComponent(out.dataset.customerRef));
      const {{ state }} = await res.json();
      if (state) out.textContent = state;
      if (state === 'connected') return;
      await new Promise((r) => setTimeout(r, 1000));
    }}
  }});
</script>
</body>
</html>"""


class Handler(BaseHTTPRequestHandler):
    def reply(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path != "/webhooks":
            return self.reply(404)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            # On the raw bytes as received, with the webhook-id/-timestamp/-signature headers.
            event = WEBHOOK.verify(body, dict(self.headers.items()))
        except WebhookVerificationError:
            print("webhook refused: bad signature or stale timestamp", flush=True)
            return self.reply(400)
        with lock:
            first = self.headers["webhook-id"] not in seen
            seen.add(self.headers["webhook-id"])
            data = event.get("data") or {}
            ref = data.get("customer_ref")
            if first and ref and event["type"].startswith("onboarding."):
                learned[ref] = data.get("state")
        if first:
            print(f"webhook verified: {event['type']} {data.get('id', '')} customer_ref={ref or ''}", flush=True)
        self.reply(204)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/":
            try:
                # Your own id for the signed-in customer; a new one per visit here.
                session = create_session(f"demo-{uuid.uuid4()}")
            except (urllib.error.URLError, OSError, ValueError) as e:
                print(f"POST /api/partner/sessions failed: {e}", flush=True)
                return self.reply(502, b"the proxy could not be reached")
            return self.reply(200, page(session).encode(), "text/html; charset=utf-8")
        if url.path == "/status":
            ref = urllib.parse.parse_qs(url.query).get("customer_ref", [""])[0]
            with lock:
                state = learned.get(ref)
            return self.reply(200, json.dumps({"state": state}).encode(), "application/json")
        self.reply(404)

    def log_message(self, format: str, *args) -> None:  # quiet: one line per webhook only
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print(f"example listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
