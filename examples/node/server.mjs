// A partner's server, in Node with no framework: it creates an onboarding session with the
// partner API, renders a page embedding the widget with the session's token, and verifies
// the proxy's webhooks with the `standardwebhooks` package before trusting them.
//
//   PROXY_URL               where the proxy runs, e.g. http://127.0.0.1:8080
//   PARTNER_API_KEY         one of the proxy's PARTNER_API_KEYS (stays on this server)
//   PARTNER_WEBHOOK_SECRET  the proxy's PARTNER_WEBHOOK_SECRET (whsec_…)
//   PORT                    where this server listens (default 3000; 0: any free port)
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (see README.md)`);
  return value;
};
const proxyUrl = need('PROXY_URL').replace(/\/+$/, '');
const apiKey = need('PARTNER_API_KEY');
const webhook = new Webhook(need('PARTNER_WEBHOOK_SECRET'));
const port = Number(process.env.PORT ?? 3000);

/** What the webhooks said, per customer_ref: the record of each onboarding. */
const learned = new Map();
/** webhook-id values already handled: deliveries are at least once. */
const seen = new Set();

async function createSession(customerRef) {
  const res = await fetch(`${proxyUrl}/api/partner/sessions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ customer_ref: customerRef, modes: ['standard', 'coexistence'] }),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`POST /api/partner/sessions: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** JSON for a <script> block: `<` escaped so no value can close the element. */
const inScript = (value) => JSON.stringify(value).replace(/</g, '\\u003c');
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(session) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Connect WhatsApp</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
  <h1>Connect your WhatsApp number</h1>
  <div id="signup"></div>
  <p>Our server says: <output id="server-status" data-customer-ref="${escapeHtml(session.customer_ref)}">waiting</output></p>
</main>
<script type="module">
  const proxyUrl = ${inScript(proxyUrl)};
  const session = ${inScript(session.token)};
  await import(proxyUrl + '/embed.js');
  window.WaSignup.mount(document.getElementById('signup'), { session });
  // The widget's events only update this page; what this server learned comes from the
  // signed webhooks (GET /status below).
  const out = document.getElementById('server-status');
  let polling = false;
  document.addEventListener('wa-signup:onboarding', async () => {
    if (polling) return;
    polling = true;
    for (let i = 0; i < 60; i++) {
      const res = await fetch('/status?customer_ref=' + encodeURIComponent(out.dataset.customerRef));
      const { state } = await res.json();
      if (state) out.textContent = state;
      if (state === 'connected') return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
</script>
</body>
</html>`;
}

function onWebhook(req, res, body) {
  let event;
  try {
    // On the raw bytes as received, with the webhook-id/-timestamp/-signature headers.
    event = webhook.verify(body, req.headers);
  } catch {
    console.log('webhook refused: bad signature or stale timestamp');
    return res.writeHead(400).end();
  }
  const id = req.headers['webhook-id'];
  if (!seen.has(id)) {
    seen.add(id);
    const ref = event.data?.customer_ref;
    if (ref && event.type.startsWith('onboarding.')) learned.set(ref, event.data.state);
    console.log(`webhook verified: ${event.type} ${event.data?.id ?? ''} customer_ref=${ref ?? ''}`);
  }
  res.writeHead(204).end();
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      if (req.method === 'POST' && url.pathname === '/webhooks') {
        return onWebhook(req, res, Buffer.concat(chunks).toString('utf8'));
      }
      if (req.method === 'GET' && url.pathname === '/') {
        // Your own id for the signed-in customer; a new one per visit here.
        const session = await createSession(`demo-${randomUUID()}`);
        return res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(session));
      }
      if (req.method === 'GET' && url.pathname === '/status') {
        const state = learned.get(url.searchParams.get('customer_ref')) ?? null;
        return res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ state }));
      }
      res.writeHead(404).end();
    } catch (e) {
      console.error(e);
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end('the proxy could not be reached');
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`example listening on http://127.0.0.1:${server.address().port}`);
});
