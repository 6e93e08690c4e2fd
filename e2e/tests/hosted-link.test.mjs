// The hosted link, as a partner uses it: its backend creates an onboarding session with its
// bearer key, sends the customer the session's `url`, and learns the outcome from signed
// webhooks. The signatures are checked with the `standardwebhooks` npm package, an
// implementation of the format independent of the proxy's Rust one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { launchBrowser, screenshotDir, startProxy } from './harness.mjs';
import { facebookContext, FB_IDS } from './facebook.mjs';
import { axeViolations, throughPopup, waitForState } from './sandbox-flow.mjs';

const PARTNER_KEY = `pk_test_${randomBytes(24).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/**
 * The partner's webhook endpoint on 127.0.0.1: answers 204 and keeps each delivery's raw
 * body and headers, as a receiver must verify the bytes it was sent.
 */
function startReceiver() {
  const deliveries = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  return new Promise((ok) => {
    server.listen(0, '127.0.0.1', () => ok({
      url: `http://127.0.0.1:${server.address().port}/partner/hooks`,
      deliveries,
      close: () => new Promise((r) => server.close(r)),
    }));
  });
}

/** Waits until `find()` returns something, polling; fails after `timeout` ms saying `what`. */
async function eventually(find, what, timeout = 20000) {
  const until = Date.now() + timeout;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Live mode, where sessions are required. YCloud is never called by these tests (no
 * onboarding is created), so its address only has to parse; Meta is faked in the browser
 * context (./facebook.mjs), and the screenshots look as the live ones do.
 */
const LIVE_ENV = {
  YCLOUD_API_KEY: 'test-key-never-used', YCLOUD_BASE_URL: 'http://127.0.0.1:9/v2',
  ALLOW_UNVERIFIED_ONBOARDINGS: 'true', PARTNER_API_KEYS: PARTNER_KEY, ...FB_IDS,
};

let receiver;
let proxy;
let live;
let browser;

before(async () => {
  receiver = await startReceiver();
  [proxy, live, browser] = await Promise.all([
    startProxy({ PARTNER_API_KEYS: PARTNER_KEY, PARTNER_WEBHOOK_URL: receiver.url, PARTNER_WEBHOOK_SECRET: WEBHOOK_SECRET }),
    startProxy(LIVE_ENV),
    launchBrowser(),
  ]);
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await live?.stop();
  await receiver?.close();
});

/** A call to the partner API with the bearer key, as the partner's backend makes it. */
async function partner(method, path, body, on = proxy) {
  const res = await fetch(`${on.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${PARTNER_KEY}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function newPage() {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 760, height: 720 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.errors = [];
  page.posts = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/onboardings') page.posts.push(JSON.parse(r.postData()));
  });
  return page;
}

test('a hosted link: the customer connects, the partner is told by signed webhooks carrying its customer_ref', async () => {
  const created = await partner('POST', '/api/partner/sessions', {
    customer_ref: 'acme-customer-42', modes: ['standard'], locale: 'en', metadata: { plan: 'pro' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const session = created.body;
  assert.equal(session.url, `${proxy.url}/?session=${session.token}`);

  const page = await newPage();
  try {
    await page.goto(session.url);
    await waitForState(page, 'ready');
    // The token left the address bar (and so the history and later referrers) at once.
    assert.equal(new URL(page.url()).search, '');
    // The session allows the standard flow only.
    assert.equal(await page.getByTestId('launch-coexistence').count(), 0);
    await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
    await waitForState(page, 'connected');
    assert.equal(page.posts.length, 1);
    assert.equal(page.posts[0].session, session.token, 'the create carries the session');
    assert.equal(page.posts[0].customer_ref, undefined, 'who the customer is comes from the session');

    const listed = await partner('GET', '/api/partner/onboardings?customer_ref=acme-customer-42');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.data.length, 1);
    const onboarding = listed.body.data[0];
    assert.equal(onboarding.state, 'connected');

    const wh = new Webhook(WEBHOOK_SECRET);
    const verified = (d) => wh.verify(d.body, d.headers);
    const about = (type) => receiver.deliveries.find((d) => {
      const event = JSON.parse(d.body);
      return event.type === type && event.data.id === onboarding.id;
    });
    for (const type of ['onboarding.created', 'onboarding.connected']) {
      const delivery = await eventually(() => about(type), `${type} at the partner's endpoint`);
      assert.equal(delivery.method, 'POST');
      assert.equal(delivery.path, '/partner/hooks');
      const event = verified(delivery); // throws unless the signature and timestamp hold
      assert.equal(event.id, delivery.headers['webhook-id']);
      assert.match(event.id, /^evt_/);
      assert.equal(event.type, type);
      assert.equal(event.data.customer_ref, 'acme-customer-42');
      assert.equal(event.data.customer_ref_verified, true);
      assert.equal(event.data.session_id, session.id);
      assert.deepEqual(event.data.metadata, { plan: 'pro' });
      // Any change to the body, or another key, fails verification.
      assert.throws(() => wh.verify(delivery.body.replace('acme-customer-42', 'acme-customer-43'), delivery.headers));
      const other = new Webhook(`whsec_${randomBytes(32).toString('base64')}`);
      assert.throws(() => other.verify(delivery.body, delivery.headers));
    }
    assert.equal(JSON.parse(about('onboarding.connected').body).data.state, 'connected');
    assert.deepEqual(page.errors, []);
  } finally {
    await page.context().close();
  }
});

test('a revoked session\'s link shows session-invalid, says to ask for a new link, and offers no button', async () => {
  const created = await partner('POST', '/api/partner/sessions', { customer_ref: 'acme-customer-43' }, live);
  assert.equal(created.status, 201);
  const revoked = await partner('DELETE', `/api/partner/sessions/${created.body.id}`, undefined, live);
  assert.equal(revoked.status, 204);

  const { context } = await facebookContext(browser);
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(created.body.url);
    await waitForState(page, 'session-invalid');
    assert.equal(new URL(page.url()).search, '', 'a dead token leaves the address too');
    assert.equal(await page.getByTestId('launch-standard').count(), 0);
    assert.equal(await page.getByTestId('launch-coexistence').count(), 0);
    assert.equal(await page.getByTestId('retry').count(), 0);
    const status = page.getByTestId('status');
    assert.equal(await status.getAttribute('aria-live'), 'polite');
    const text = (await status.innerText()).replace(/\s+/g, ' ').trim();
    assert.equal(text, 'This sign-up link is no longer valid. Please ask the business that sent it to you for a new link.');
    // Nothing can start here, so Facebook's script is never run for this customer.
    assert.equal(await page.evaluate(() => typeof window.FB), 'undefined');
    assert.deepEqual(await axeViolations(page), []);
    await page.screenshot({ path: join(screenshotDir, 'session-invalid.png'), fullPage: true, animations: 'disabled' });
    // The same in each language of the switch.
    for (const [tag, words] of [['zh-Hans', '此注册链接已失效'], ['zh-Hant', '此註冊連結已失效'], ['vi', 'không còn hiệu lực']]) {
      await page.getByTestId('locale').selectOption(tag);
      // Languages other than English arrive when chosen (i18n/{tag}.json).
      await status.filter({ hasText: words }).waitFor();
    }
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('live mode: the page opened without a session link offers nothing and says to ask for one', async () => {
  const config = await (await fetch(`${live.url}/api/config`)).json();
  assert.equal(config.sessions_required, true);
  const { context } = await facebookContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(live.url);
    await waitForState(page, 'session-invalid');
    assert.equal(await page.getByTestId('launch-standard').count(), 0);
    const text = (await page.getByTestId('status').innerText()).replace(/\s+/g, ' ').trim();
    assert.equal(text, 'This page only works with a personal sign-up link. Please ask the business that sent you here for your link.');
    assert.deepEqual(await axeViolations(page), []);
    await page.screenshot({ path: join(screenshotDir, 'session-missing.png'), fullPage: true, animations: 'disabled' });
  } finally {
    await context.close();
  }
});
