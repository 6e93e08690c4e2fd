// What a partner would otherwise write in Node.js: the two calls of YCloud's Embedded Signup guide
// (tp/bind, then register) behind POST /api/onboardings, no validation, no persistence
// (an in-memory Map), GET /api/onboardings/{id} from the Map, and GET /healthz.
// The comparison point for the Rust proxy in `cargo xtask bench`.
//   PORT=8081 YCLOUD_BASE_URL=http://127.0.0.1:9000/v2 YCLOUD_API_KEY=k node naive-proxy.mjs
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const base = process.env.YCLOUD_BASE_URL ?? 'https://api.ycloud.com/v2';
const apiKey = process.env.YCLOUD_API_KEY ?? '';
const port = Number(process.env.PORT ?? 8081);
const onboardings = new Map();

async function ycloud(path) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'X-API-Key': apiKey } });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(`YCloud ${res.status}`), { status: res.status, body });
  return body;
}

function send(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function createOnboarding(req, res) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  const { waba_id, phone_number_id, mode = 'standard' } = JSON.parse(raw);
  const waba = await ycloud(`/whatsapp/businessAccounts/${waba_id}/tp/bind`);
  const phone = await ycloud(`/whatsapp/phoneNumbers/${waba_id}/${phone_number_id}/register`);
  const now = new Date().toISOString();
  const onboarding = {
    id: randomUUID(), mode, waba_id, phone_number_id, state: phone.status === 'CONNECTED' ? 'connected' : 'pending',
    waba, phone_number: phone, created_at: now, updated_at: now,
  };
  onboardings.set(onboarding.id, onboarding);
  send(res, 201, onboarding);
}

const server = createServer((req, res) => {
  const url = req.url.split('?')[0];
  if (req.method === 'GET' && url === '/healthz') return send(res, 200, { status: 'ok', mode: 'live' });
  if (req.method === 'POST' && url === '/api/onboardings') {
    return createOnboarding(req, res).catch((e) => send(res, e.status ?? 500, { error: String(e.message) }));
  }
  if (req.method === 'GET' && url.startsWith('/api/onboardings/')) {
    const found = onboardings.get(url.slice('/api/onboardings/'.length));
    return found ? send(res, 200, found) : send(res, 404, { error: 'not found' });
  }
  send(res, 404, { error: 'not found' });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
