// A fake YCloud API for the end-to-end suite: the five calls the proxy makes, answered with
// bodies shaped like YCloud's OpenAPI document (WhatsappBusinessAccount, WhatsappPhoneNumber,
// ErrorResponse), `X-API-Key` checked, a `YCloud-Request-ID` on every answer.
//
//   POST /v2/whatsapp/businessAccounts/{waba}/tp/bind          -> WABA
//   POST /v2/whatsapp/businessAccounts/{waba}/smb/bind         -> phone number, PENDING
//   POST /v2/whatsapp/phoneNumbers/{waba}/{id}/register        -> phone number, PENDING
//   GET  /v2/whatsapp/businessAccounts/{waba}                  -> WABA
//   GET  /v2/whatsapp/phoneNumbers/{waba}/{e164}               -> phone number, CONNECTED once polled
//
// A registered number answers PENDING at first and CONNECTED from its first poll on, unless
// `fake.holdPending` is true (then it stays PENDING until the flag is cleared). WABAs are
// answered with `paymentMethodAttached: false` while `fake.paymentMissing` is true, and
// always for ids ending in 402.
//
// Import it (`startFakeYCloud()`) to inspect `fake.calls`, or run it alone:
//   node e2e/fake-ycloud.mjs [port]   (key: FAKE_YCLOUD_KEY, default "e2e-test-key")
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

export const FAKE_API_KEY = 'e2e-test-key';

function requestId() {
  return `req_fake_${randomBytes(6).toString('hex')}`;
}

/** A stable, obviously fake US number for a phone number id. */
function e164For(id) {
  return `+1555${id.slice(-7).padStart(7, '0')}`;
}

function wabaJson(id, paymentMissing) {
  return {
    id,
    name: 'E2E Test WhatsApp Business Account',
    accountReviewStatus: 'APPROVED',
    paymentMethodAttached: !(paymentMissing || id.endsWith('402')),
    currency: 'USD',
    timezoneId: '1',
    businessId: '400000000000004',
    businessName: 'E2E Test Business',
    messageTemplateNamespace: 'e2e_namespace',
    ownershipType: 'CLIENT_OWNED',
  };
}

function phoneJson(n) {
  const e = n.phoneNumber;
  return {
    id: n.id,
    phoneNumber: e,
    displayPhoneNumber: `+1 555-${e.slice(5, 8)}-${e.slice(8)}`,
    wabaId: n.wabaId,
    verifiedName: 'E2E Test Shop',
    qualityRating: 'GREEN',
    messagingLimit: 'TIER_250',
    codeVerificationStatus: 'VERIFIED',
    nameStatus: 'APPROVED',
    isOfficialBusinessAccount: false,
    status: n.status,
  };
}

/**
 * Starts the fake on 127.0.0.1 (`port` 0: a free one). Returns
 * `{ url, baseUrl, apiKey, calls, numbers, holdPending, close() }`; `baseUrl` ends in `/v2`
 * (what `YCLOUD_BASE_URL` takes), `calls` lists `{method, path, at}` of every request.
 */
export async function startFakeYCloud({ port = 0, apiKey = FAKE_API_KEY } = {}) {
  const numbers = new Map(); // e164 -> {id, wabaId, phoneNumber, status}
  const fake = {
    apiKey,
    calls: [],
    numbers,
    holdPending: false,
    paymentMissing: false,
    url: '',
    baseUrl: '',
    close: () => Promise.resolve(),
    /** Calls whose path matches `re` (and method, when given). */
    callsTo(re, method) {
      return this.calls.filter((c) => re.test(c.path) && (!method || c.method === method));
    },
  };

  function pend(wabaId, id) {
    const phoneNumber = e164For(id);
    let n = numbers.get(phoneNumber);
    if (!n) {
      n = { id, wabaId, phoneNumber, status: 'PENDING' };
      numbers.set(phoneNumber, n);
    }
    return n;
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://fake');
    const path = decodeURIComponent(url.pathname);
    fake.calls.push({ method: req.method, path, at: Date.now() });
    const rid = requestId();
    const send = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        'YCloud-Request-ID': rid,
      });
      res.end(text);
    };
    const error = (status, code, message) =>
      send(status, { error: { status, code, message, requestId: rid } });

    // Drain any body (the proxy sends none).
    req.resume();
    req.on('end', () => {
      if (req.headers['x-api-key'] !== apiKey) {
        return error(401, 'UNAUTHORIZED', 'Invalid API key.');
      }
      let m;
      const digits = '(\\d{1,32})';
      if (req.method === 'POST' && (m = path.match(new RegExp(`^/v2/whatsapp/businessAccounts/${digits}/tp/bind$`)))) {
        return send(200, wabaJson(m[1], fake.paymentMissing));
      }
      if (req.method === 'POST' && (m = path.match(new RegExp(`^/v2/whatsapp/businessAccounts/${digits}/smb/bind$`)))) {
        // The coexistence number: YCloud knows it from the Business App; invent a stable id.
        const id = `9${m[1]}`.slice(0, 16);
        return send(200, phoneJson(pend(m[1], id)));
      }
      if (req.method === 'POST' && (m = path.match(new RegExp(`^/v2/whatsapp/phoneNumbers/${digits}/${digits}/register$`)))) {
        return send(200, phoneJson(pend(m[1], m[2])));
      }
      if (req.method === 'GET' && (m = path.match(new RegExp(`^/v2/whatsapp/businessAccounts/${digits}$`)))) {
        return send(200, wabaJson(m[1], fake.paymentMissing));
      }
      if (req.method === 'GET' && (m = path.match(new RegExp(`^/v2/whatsapp/phoneNumbers/${digits}/(\\+\\d{6,15})$`)))) {
        const n = numbers.get(m[2]);
        if (!n || n.wabaId !== m[1]) return error(404, 'NOT_FOUND', 'The requested resource does not exist.');
        if (!fake.holdPending) n.status = 'CONNECTED';
        return send(200, phoneJson(n));
      }
      return error(404, 'NOT_FOUND', `No route for ${req.method} ${path}.`);
    });
  });

  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const { port: bound } = server.address();
  fake.url = `http://127.0.0.1:${bound}`;
  fake.baseUrl = `${fake.url}/v2`;
  fake.close = () =>
    new Promise((ok) => {
      server.closeAllConnections?.();
      server.close(() => ok());
    });
  return fake;
}

// `node e2e/fake-ycloud.mjs [port]`: run it alone, e.g. to click through a live-mode proxy by hand.
if (import.meta.url === `file://${process.argv[1]}`) {
  const fake = await startFakeYCloud({
    port: Number(process.argv[2] ?? 0),
    apiKey: process.env.FAKE_YCLOUD_KEY ?? FAKE_API_KEY,
  });
  console.log(`fake YCloud at ${fake.baseUrl} (X-API-Key: ${fake.apiKey})`);
}
