// The partner console in Chromium, as a partner's support person uses it: sign in with a
// partner API key, create a link, watch the customer (a second browser context) complete a
// sandbox sign-up with it and reach connected without reloading, break the webhook
// receiver, see the failed delivery, redeliver it, send a test event, sign out. axe-core
// audits every view; screenshots go to target/screenshots/ (docs/screenshots/ with
// UPDATE_SCREENSHOTS=1). Deliveries are verified with the `standardwebhooks` npm package.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { launchBrowser, screenshotDir, startProxy } from './harness.mjs';
import { axeViolations, throughPopup, waitForState } from './sandbox-flow.mjs';

const PARTNER_KEY = `pk_console_${randomBytes(24).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** A webhook receiver on 127.0.0.1 that can be broken (answers 500) and fixed again. */
function startReceiver() {
  const state = { broken: false, deliveries: [] };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      state.deliveries.push({ headers: req.headers, body, answered: state.broken ? 500 : 204 });
      res.writeHead(state.broken ? 500 : 204).end();
    });
  });
  return new Promise((ok) => {
    server.listen(0, '127.0.0.1', () => ok(Object.assign(state, {
      url: `http://127.0.0.1:${server.address().port}/hooks`,
      close: () => new Promise((r) => server.close(r)),
    })));
  });
}

/** Waits until `find()` answers something truthy. */
async function eventually(find, what, timeout = 20000) {
  const until = Date.now() + timeout;
  for (;;) {
    const found = await find();
    if (found) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let receiver;
let proxy;
let browser;

before(async () => {
  receiver = await startReceiver();
  [proxy, browser] = await Promise.all([
    startProxy({ PARTNER_API_KEYS: PARTNER_KEY, PARTNER_WEBHOOK_URL: receiver.url, PARTNER_WEBHOOK_SECRET: WEBHOOK_SECRET }),
    launchBrowser(),
  ]);
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await receiver?.close();
});

async function assertAccessible(page, view) {
  assert.deepEqual(await axeViolations(page), [], `axe violations in the console's ${view} view`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(screenshotDir, `console-${name}.png`), fullPage: true });
}

test('without partner keys there is no console', async () => {
  const bare = await startProxy();
  try {
    const res = await fetch(`${bare.url}/console`);
    assert.equal(res.status, 404);
  } finally {
    await bare.stop();
  }
});

test('sign in, link, live sign-up, failed delivery redelivered, test event, sign out', async () => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => d.accept());

  // Sign in, by keyboard alone: the key is typed, Enter submits.
  await page.goto(`${proxy.url}/console`);
  await page.getByTestId('signin').waitFor();
  await assertAccessible(page, 'sign-in');
  await shot(page, 'signin');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'key');
  await page.keyboard.type('not-the-key-0123456789abcdef0123456789');
  await page.keyboard.press('Enter');
  await page.getByText('That is not one of this proxy').waitFor();
  await page.locator('#key').fill(PARTNER_KEY);
  await page.keyboard.press('Enter');
  await page.getByTestId('nav-onboardings').waitFor();
  // The key is nowhere the page can read later; the cookie is HttpOnly.
  assert.equal(await page.evaluate(() => document.cookie), '');
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.ok(!storage.includes(PARTNER_KEY));
  await page.getByTestId('no-onboardings').waitFor();
  await assertAccessible(page, 'onboardings (empty)');
  // A marker that a reload would wipe: the rest happens without one.
  await page.evaluate(() => { window.__noReload = true; });

  // A link for a customer on the phone, with its QR code.
  await page.getByTestId('nav-links').click();
  await page.locator('#l-customer').fill('acme-customer-7');
  await page.locator('#l-metadata').fill('{"plan": "pro"}');
  await page.getByTestId('create-link').click();
  const url = await page.getByTestId('link-url').inputValue();
  assert.match(url, new RegExp(`^${proxy.url}/\\?session=ses_`));
  await page.getByTestId('link-qr').waitFor();
  await assertAccessible(page, 'links');
  await shot(page, 'links');

  // The customer completes the sandbox sign-up in a browser of their own.
  await page.getByTestId('nav-onboardings').click();
  const customer = await (await browser.newContext({ locale: 'en-US' })).newPage();
  await customer.goto(url);
  await waitForState(customer, 'ready');
  await throughPopup(customer, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
  await waitForState(customer, 'connected');
  await customer.context().close();

  // The console shows it connected without a reload.
  const row = page.locator('[data-testid="onboardings"] tbody tr').first();
  await row.locator('[data-state="connected"]').waitFor({ timeout: 15000 });
  assert.equal(await row.locator('td').nth(1).textContent(), 'acme-customer-7');
  assert.equal(await page.evaluate(() => window.__noReload), true);
  await assertAccessible(page, 'onboardings');
  await shot(page, 'onboardings');

  // One onboarding: steps, and the events sent for it, delivered.
  await row.locator('a').first().click();
  await page.locator('[data-testid="onboarding-state"] [data-state="connected"]').waitFor();
  await page.locator('[data-testid="steps"] li').first().waitFor();
  const connectedEvent = page.locator('[data-testid="events"] tr', { hasText: 'onboarding.connected' });
  await connectedEvent.locator('[data-state="delivered"]').waitFor({ timeout: 15000 });
  await assertAccessible(page, 'onboarding');
  await shot(page, 'onboarding');

  // The receiver breaks; the event posted again fails and shows among the deliveries.
  receiver.broken = true;
  const eventId = await connectedEvent.getAttribute('data-event');
  await connectedEvent.getByTestId('redeliver').click();
  await page.getByTestId('nav-deliveries').click();
  const failing = page.locator(`[data-testid="pending"] tr[data-event="${eventId}"], [data-testid="failed"] tr[data-event="${eventId}"]`);
  await failing.waitFor({ timeout: 15000 });
  await failing.getByText('answered 500').waitFor();
  await assertAccessible(page, 'deliveries');
  await shot(page, 'deliveries');

  // Fixed, and redelivered from the console: the receiver gets it, signed.
  receiver.broken = false;
  const before = receiver.deliveries.length;
  await failing.getByTestId('redeliver').click();
  await failing.waitFor({ state: 'detached', timeout: 15000 });
  const wh = new Webhook(WEBHOOK_SECRET);
  const redelivered = await eventually(
    () => receiver.deliveries.slice(before).find((d) => d.headers['webhook-id'] === eventId && d.answered === 204),
    'the redelivered event');
  const verified = wh.verify(redelivered.body, redelivered.headers);
  assert.equal(verified.type, 'onboarding.connected');
  assert.equal(verified.data.customer_ref, 'acme-customer-7');

  // A test event: a signed ping.
  await page.getByTestId('test-event').click();
  await page.getByTestId('notice').getByText('A signed ping was sent').waitFor();
  const ping = await eventually(() => receiver.deliveries.find((d) => JSON.parse(d.body).type === 'ping'), 'the ping');
  assert.equal(wh.verify(ping.body, ping.headers).type, 'ping');

  // The funnel and the setup check.
  await page.getByTestId('nav-funnel').click();
  const funnel = page.getByTestId('funnel-chart');
  await funnel.locator('[data-count="1"]').first().waitFor();
  await page.getByTestId('days-30').click();
  assert.equal(await page.getByTestId('days-30').getAttribute('aria-pressed'), 'true');
  await assertAccessible(page, 'funnel');
  await shot(page, 'funnel');
  await page.getByTestId('nav-setup').click();
  await page.getByTestId('settings').waitFor();
  assert.equal(await page.getByTestId('setup-mode').textContent(), 'sandbox');
  assert.match(await page.getByTestId('last-delivery').textContent(), /delivered/);
  const text = await page.content();
  assert.ok(!text.includes(PARTNER_KEY) && !text.includes(WEBHOOK_SECRET), 'no secret on the page');
  await assertAccessible(page, 'setup');
  await shot(page, 'setup');

  // Sign out: the form again, and the old cookie opens nothing.
  await page.getByTestId('signout').click();
  await page.getByTestId('signin').waitFor();
  const res = await page.request.get(`${proxy.url}/api/partner/onboardings`);
  assert.equal(res.status(), 401);
  assert.equal(await page.evaluate(() => window.__noReload), true);
  assert.deepEqual(errors, []);
  await context.close();
});
