// The partner console in Chromium, as a partner's support person uses it, with the keyboard
// alone (Tab, Shift+Tab, Enter, Space, Escape; no pointer): sign in with a partner API key,
// create a link, watch the customer (a second browser context) complete a sandbox sign-up
// with it and reach connected without reloading, filter and search for it, open it, confirm
// an action in its dialog (focus kept inside, and given back), read each delivery attempt,
// break the webhook receiver, see the failed delivery, redeliver it, send a test event, read
// the funnel and the setup check, sign out. axe-core audits every view; screenshots go to
// target/screenshots/ (docs/screenshots/ with UPDATE_SCREENSHOTS=1). Deliveries are verified
// with the `standardwebhooks` npm package.
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

/** Whether the focused element matches `selector`. */
function focusIs(page, selector) {
  return page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
}

/**
 * Presses Tab until the focused element matches `selector`: Shift+Tab while the target comes
 * before the focus in the page, as a person would.
 */
async function tabTo(page, selector, max = 150) {
  await page.locator(selector).first().waitFor();
  for (let i = 0; i < max; i++) {
    const where = await page.evaluate((s) => {
      const active = document.activeElement;
      if (active?.matches(s)) return 'here';
      const target = document.querySelector(s);
      if (!target || !active || active === document.body) return 'Tab';
      return target.compareDocumentPosition(active) & Node.DOCUMENT_POSITION_FOLLOWING ? 'Shift+Tab' : 'Tab';
    }, selector);
    if (where === 'here') return;
    await page.keyboard.press(where);
  }
  throw new Error(`the keyboard never reached ${selector}`);
}

/** Tabs to `selector` and presses `key` on it (Enter by default). */
async function press(page, selector, key = 'Enter') {
  await tabTo(page, selector);
  await page.keyboard.press(key);
}

/**
 * Opens the confirmation of the action whose button is `button`, checks that Tab and
 * Shift+Tab stay inside the dialog, and confirms it; focus comes back to the button.
 */
async function confirmWithKeyboard(page, button) {
  const dialog = page.getByTestId('confirm-dialog');
  await press(page, button);
  await dialog.waitFor();
  assert.ok(await focusIs(page, '[data-testid="confirm-no"]'), 'Cancel has the focus first');
  for (const key of ['Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Tab']) {
    await page.keyboard.press(key);
    assert.ok(await page.evaluate(() => !!document.activeElement?.closest('dialog[open]')), `${key} stays in the dialog`);
  }
  assert.ok(await focusIs(page, '[data-testid="confirm-yes"]'));
  // Where the focus is when the dialog's close event comes: the action's answer may remove
  // the button's row right after (a redelivered event leaves the failed list).
  await page.evaluate((s) => {
    window.__focusBack = undefined;
    document.querySelector('[data-testid="confirm-dialog"]').addEventListener('close', () => {
      window.__focusBack = !!document.activeElement?.matches(s);
    }, { once: true });
  }, button);
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'hidden' });
  await page.waitForFunction(() => window.__focusBack !== undefined);
  assert.ok(await page.evaluate(() => window.__focusBack), `focus back on ${button}`);
}

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

test('by keyboard alone: sign in, link, live sign-up, search, an action confirmed, attempts, redelivery, test event, funnel, setup, sign out', async () => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Every confirmation is the console's own dialog: a native one would be a regression.
  page.on('dialog', (d) => { errors.push(`native dialog: ${d.message()}`); d.dismiss(); });

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
  await tabTo(page, '#key');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(PARTNER_KEY);
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
  await press(page, '[data-testid="nav-links"]');
  await tabTo(page, '#l-customer');
  await page.keyboard.type('acme-customer-7');
  await tabTo(page, '#l-metadata');
  await page.keyboard.type('{"plan": "pro"}');
  await press(page, '[data-testid="create-link"]', 'Space');
  const url = await page.getByTestId('link-url').inputValue();
  assert.match(url, new RegExp(`^${proxy.url}/\\?session=ses_`));
  await page.getByTestId('link-qr').waitFor();
  await assertAccessible(page, 'links');
  await shot(page, 'links');

  // The customer completes the sandbox sign-up in a browser of their own.
  await press(page, '[data-testid="nav-onboardings"]');
  const customer = await (await browser.newContext({ locale: 'en-US' })).newPage();
  await customer.goto(url);
  await waitForState(customer, 'ready');
  await throughPopup(customer, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
  await waitForState(customer, 'connected');
  await customer.context().close();

  // The console shows it connected without a reload.
  const rows = page.locator('[data-testid="onboardings"] tbody tr');
  const row = rows.first();
  await row.locator('[data-state="connected"]').waitFor({ timeout: 15000 });
  assert.equal(await row.locator('td').nth(1).textContent(), 'acme-customer-7');
  assert.equal(await page.evaluate(() => window.__noReload), true);
  await assertAccessible(page, 'onboardings');
  await shot(page, 'onboardings');
  const id = await row.getAttribute('data-onboarding');

  // Filters and search, from the keyboard: a state typed into its list, a customer, and the
  // number as people write it (the display number, with its spaces and dashes).
  const listed = await (await page.request.get(`${proxy.url}/api/partner/onboardings/${id}`)).json();
  const display = listed.phone_number.display_phone_number;
  assert.match(display, /^\+1 555-/);
  await tabTo(page, '#f-state');
  await page.keyboard.type('c');
  assert.equal(await page.locator('#f-state').inputValue(), 'connected');
  await tabTo(page, '#f-customer');
  await page.keyboard.type('nobody-here');
  await page.keyboard.press('Enter');
  await page.getByTestId('no-onboardings').waitFor();
  await tabTo(page, '#f-customer');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await tabTo(page, '#f-search');
  await page.keyboard.type(display);
  await page.keyboard.press('Enter');
  await page.locator(`[data-testid="onboardings"] tbody tr[data-onboarding="${id}"]`).waitFor();
  assert.equal(await rows.count(), 1);

  // One onboarding: steps, and the events sent for it, delivered, each attempt listed.
  await press(page, `#open-${id}`);
  await page.locator('[data-testid="onboarding-state"] [data-state="connected"]').waitFor();
  await page.locator('[data-testid="steps"] li').first().waitFor();
  const connectedEvent = page.locator('[data-testid="events"] tr', { hasText: 'onboarding.connected' });
  await connectedEvent.locator('[data-state="delivered"]').waitFor({ timeout: 15000 });
  const eventId = await connectedEvent.getAttribute('data-event');
  await press(page, `tr[data-event="${eventId}"] summary`);
  await connectedEvent.locator('li[data-attempt="1"][data-status="204"]').waitFor();
  assert.match(await connectedEvent.locator('li[data-attempt="1"]').textContent(), /^#1 · .* UTC · HTTP 204 · took \d+ ms$/);
  await assertAccessible(page, 'onboarding');
  await shot(page, 'onboarding');

  // An action in its dialog: Escape leaves without acting, focus back on the button; then
  // confirmed, the proxy's answer is shown (a connected onboarding has nothing to retry).
  const retried = [];
  page.on('request', (r) => { if (r.url().endsWith(`/api/partner/onboardings/${id}/retry`)) retried.push(r.method()); });
  await press(page, '#action-retry');
  await page.getByTestId('confirm-dialog').waitFor();
  await assertAccessible(page, 'confirmation dialog');
  await page.keyboard.press('Escape');
  await page.getByTestId('confirm-dialog').waitFor({ state: 'hidden' });
  assert.ok(await focusIs(page, '#action-retry'), 'Escape gives the focus back');
  assert.deepEqual(retried, []);
  await confirmWithKeyboard(page, '#action-retry');
  await page.getByTestId('notice').getByText('nothing to retry', { exact: false }).waitFor();
  assert.deepEqual(retried, ['POST']);

  // The receiver breaks; the event posted again fails and shows among the deliveries.
  receiver.broken = true;
  await confirmWithKeyboard(page, `#redeliver-${eventId}`);
  await page.getByTestId('notice').getByText('The event is being posted again').waitFor();
  await press(page, '[data-testid="nav-deliveries"]');
  const failing = page.locator(`[data-testid="pending"] tr[data-event="${eventId}"], [data-testid="failed"] tr[data-event="${eventId}"]`);
  await failing.waitFor({ timeout: 15000 });
  await failing.getByText('answered 500', { exact: true }).waitFor();
  await press(page, `tr[data-event="${eventId}"] summary`);
  await failing.locator('li[data-attempt="2"][data-status="500"]').waitFor();
  await assertAccessible(page, 'deliveries');
  await shot(page, 'deliveries');

  // Fixed, and redelivered from the console: the receiver gets it, signed.
  receiver.broken = false;
  const before = receiver.deliveries.length;
  await confirmWithKeyboard(page, `#redeliver-${eventId}`);
  await failing.waitFor({ state: 'detached', timeout: 15000 });
  // Its row (and button) gone, the focus is on the heading of the list it was in, not lost
  // to the top of the page.
  await page.waitForFunction(() => document.activeElement?.matches('section > h2'), null, { timeout: 5000 });
  const wh = new Webhook(WEBHOOK_SECRET);
  const redelivered = await eventually(
    () => receiver.deliveries.slice(before).find((d) => d.headers['webhook-id'] === eventId && d.answered === 204),
    'the redelivered event');
  const verified = wh.verify(redelivered.body, redelivered.headers);
  assert.equal(verified.type, 'onboarding.connected');
  assert.equal(verified.data.customer_ref, 'acme-customer-7');

  // A test event: a signed ping.
  await press(page, '[data-testid="test-event"]', 'Space');
  await page.getByTestId('notice').getByText('A signed ping was sent').waitFor();
  const ping = await eventually(() => receiver.deliveries.find((d) => JSON.parse(d.body).type === 'ping'), 'the ping');
  assert.equal(wh.verify(ping.body, ping.headers).type, 'ping');

  // The funnel and the setup check.
  await press(page, '[data-testid="nav-funnel"]');
  const funnel = page.getByTestId('funnel-chart');
  await funnel.locator('[data-count="1"]').first().waitFor();
  await press(page, '[data-testid="days-30"]', 'Space');
  assert.equal(await page.getByTestId('days-30').getAttribute('aria-pressed'), 'true');
  await assertAccessible(page, 'funnel');
  await shot(page, 'funnel');
  await press(page, '[data-testid="nav-setup"]');
  await page.getByTestId('settings').waitFor();
  assert.equal(await page.getByTestId('setup-mode').textContent(), 'sandbox');
  assert.match(await page.getByTestId('last-delivery').textContent(), /delivered/);
  const text = await page.content();
  assert.ok(!text.includes(PARTNER_KEY) && !text.includes(WEBHOOK_SECRET), 'no secret on the page');
  await assertAccessible(page, 'setup');
  await shot(page, 'setup');

  // Asking to reauthorize calls its partner API route and shows the outcome: the
  // onboarding's new state, the proxy's refusal, or that this proxy does not offer it.
  await press(page, '[data-testid="nav-onboardings"]');
  await press(page, `#open-${id}`);
  await page.locator('[data-testid="onboarding-state"] [data-state]').waitFor();
  const answered = page.waitForResponse((r) => r.request().method() === 'POST'
    && r.url() === `${proxy.url}/api/partner/onboardings/${id}/reauthorize`);
  await confirmWithKeyboard(page, '#action-reauthorize');
  const answer = await answered;
  const body = await answer.json().catch(() => null);
  const expected = answer.ok()
    ? `Done. The onboarding is now: ${body.state.replace('_', ' ')}${body.error?.code ? ` (${body.error.code})` : ''}`
    : (answer.status() === 404 && body?.error?.code === 'not_found')
      ? 'This proxy does not offer this action'
      : body.error.message;
  await page.getByTestId('notice').getByText(expected, { exact: false }).waitFor();

  // Sign out: the form again, and the old cookie opens nothing.
  await press(page, '[data-testid="signout"]');
  await page.getByTestId('signin').waitFor();
  const res = await page.request.get(`${proxy.url}/api/partner/onboardings`);
  assert.equal(res.status(), 401);
  assert.equal(await page.evaluate(() => window.__noReload), true);
  assert.deepEqual(errors, []);
  await context.close();
});
