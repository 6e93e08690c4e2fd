// A number that already has a two-step verification PIN, against the sandbox's fake Meta
// (`WHATSAPP_PROVIDER=meta`): WABA ids ending in 005 answer 133005 unless the PIN is 246810.
// The customer types a wrong PIN, is told so, then the right one, and the number connects;
// the digits go only into the PIN request's body.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchBrowser, screenshotDir, startProxy } from './harness.mjs';
import { axeViolations, throughPopup, waitForState } from './sandbox-flow.mjs';

const WRONG = '135790';
const RIGHT = '246810';
const shared = { proxy: null, browser: null };

before(async () => {
  shared.proxy = await startProxy({ WHATSAPP_PROVIDER: 'meta' });
  shared.browser = await launchBrowser();
});
after(async () => {
  await shared.browser?.close();
  await shared.proxy?.stop();
});

test('a number with a PIN asks for it, says a wrong one is wrong, and connects with the right one', async () => {
  const context = await shared.browser.newContext();
  // Every wa-signup:* event the page sees, caught before the widget mounts.
  await context.addInitScript(() => {
    window.__events = [];
    for (const name of ['finish', 'cancel', 'onboarding', 'connected', 'error']) {
      document.addEventListener(`wa-signup:${name}`, (e) => {
        window.__events.push({ name, detail: JSON.stringify(e.detail) });
      }, true);
    }
  });
  const page = await context.newPage();
  const errors = [];
  const consoleLines = [];
  const urls = [];
  const pinBodies = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('request', (r) => {
    urls.push(r.url());
    if (r.method() === 'POST' && r.url().endsWith('/pin')) pinBodies.push(r.postData());
  });

  await page.goto(shared.proxy.url);
  await waitForState(page, 'ready');
  await throughPopup(page, 'launch-standard', async (p) => {
    await p.fill('#waba', '100000000000005');
    await p.getByTestId('sandbox-finish').click();
  });
  await waitForState(page, 'action-required');

  const input = page.getByTestId('pin-input');
  const submit = page.getByTestId('pin-submit');
  const status = page.getByTestId('status');
  await input.waitFor({ state: 'visible' });
  for (const [name, value] of [['inputmode', 'numeric'], ['autocomplete', 'one-time-code'],
    ['pattern', '[0-9]{6}'], ['maxlength', '6'], ['type', 'text']]) {
    assert.equal(await input.getAttribute(name), value, name);
  }
  assert.equal(await input.getAttribute('name'), null, 'a form submit never carries the digits');
  assert.match(await status.innerText(), /already has a two-step verification PIN/);
  assert.equal(await status.getAttribute('aria-live'), 'polite');
  // The label names the field; the hint describes it.
  const label = await page.locator('label[for="wa-pin-input"]').innerText();
  assert.match(label, /Two-step verification PIN/);
  assert.equal(await input.getAttribute('aria-describedby'), 'wa-pin-hint');
  assert.deepEqual(await axeViolations(page), [], 'axe violations with the PIN form');
  await page.screenshot({ path: join(screenshotDir, 'pin-required.png'), fullPage: true });

  // Not six digits: said at the field, nothing sent.
  await input.fill('12a45');
  await submit.click();
  const fieldError = page.getByTestId('pin-error');
  await fieldError.waitFor({ state: 'visible' });
  assert.match(await fieldError.innerText(), /exactly 6 digits/);
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.equal(await input.getAttribute('aria-describedby'), 'wa-pin-hint wa-pin-error');
  assert.equal(pinBodies.length, 0);

  // A wrong PIN: Meta refuses it, the page says so and that tries count.
  await input.fill(WRONG);
  await submit.click();
  await status.filter({ hasText: "not this number's two-step verification PIN" }).waitFor({ timeout: 15000 });
  assert.match(await status.innerText(), /counts towards a lock-out/);
  assert.equal(await status.getAttribute('data-state'), 'action-required');
  assert.match(await fieldError.innerText(), /not this number's/);
  assert.deepEqual(await axeViolations(page), [], 'axe violations after a wrong PIN');

  // The right one: registered, then connected through the event stream.
  await input.fill(RIGHT);
  await submit.click();
  await waitForState(page, 'connected', page, 30000);
  assert.equal(await page.getByTestId('pin-input').count(), 0, 'the form is gone');

  assert.deepEqual(pinBodies.map((b) => JSON.parse(b)), [{ pin: WRONG }, { pin: RIGHT }]);
  // The digits went nowhere else: not into an address, the console, sessionStorage or an
  // event's detail.
  const events = await page.evaluate(() => window.__events);
  assert.ok(events.some((e) => e.name === 'connected'), JSON.stringify(events.map((e) => e.name)));
  const storage = await page.evaluate(() => JSON.stringify(Object.entries(sessionStorage)));
  const elsewhere = [...urls, page.url(), ...consoleLines, storage, ...events.map((e) => e.detail)].join('\n');
  for (const pin of [WRONG, RIGHT]) assert.ok(!elsewhere.includes(pin), `${pin} leaked:\n${elsewhere}`);
  assert.deepEqual(errors, []);
  await context.close();
});
