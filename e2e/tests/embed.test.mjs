// The example partner page (/embed-demo.html) embeds the widget the way the README says:
// it mounts, themes through custom properties, leaves the host's styles alone, reports its
// events to the page, and has no axe violations.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sandboxPerFile, screenshotDir } from './harness.mjs';
import { axeViolations, throughPopup, waitForState } from './sandbox-flow.mjs';

const env = sandboxPerFile(before, after);

test('the embed demo mounts the widget, themes it, and leaves the host page alone', async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${env.proxy.url}/embed-demo.html`);
  await waitForState(page, 'ready');
  const widget = page.locator('[data-wa-signup]');
  assert.equal(await widget.count(), 1);
  assert.equal(await widget.getAttribute('data-wa-signup-mounted'), '');
  // The host's theme reaches the widget; the host's own styles are untouched.
  const accent = await page.getByTestId('launch-standard').evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(accent, 'rgb(45, 42, 110)');
  const hostFont = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
  assert.match(hostFont, /Georgia/);
  const hostMargin = await page.evaluate(() => getComputedStyle(document.body).margin);
  assert.equal(hostMargin, '0px');
  assert.deepEqual(await axeViolations(page), []);
  await page.screenshot({ path: join(screenshotDir, 'embed-demo.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the embed demo logs the widget events of a whole onboarding, carrying customer_ref', async () => {
  const page = await env.browser.newPage();
  await page.goto(`${env.proxy.url}/embed-demo.html`);
  await waitForState(page, 'ready');
  await throughPopup(page, 'launch-coexistence', (p) => p.getByTestId('sandbox-finish-coexistence').click());
  await waitForState(page, 'connected');
  const log = page.getByTestId('event-log');
  await log.locator('[data-event="wa-signup:connected"]').waitFor();
  const names = await log.locator('li').evaluateAll((items) => items.map((li) => li.dataset.event));
  assert.equal(names[0], 'wa-signup:finish');
  assert.ok(names.includes('wa-signup:onboarding'));
  assert.equal(names.at(-1), 'wa-signup:connected');
  const last = await log.locator('[data-event="wa-signup:onboarding"]').last().innerText();
  assert.match(last, /"customer_ref":"acme-customer-42"/);
  assert.match(last, /"mode":"coexistence"/);
  // In the sandbox every event's detail says so, so that no listener takes it for real.
  const details = await log.locator('li').evaluateAll((items) => items.map((li) => li.innerText));
  for (const text of details) assert.match(text, /"sandbox":true/, text);
  // The onboarding's client token stays inside the widget: in no event's detail.
  for (const text of details) assert.doesNotMatch(text, /client_token|cli_/, text);
  assert.ok(await page.getByTestId('sandbox-badge').isVisible(), 'the badge shows in the embed too');
  assert.deepEqual(await axeViolations(page), []);
  await page.close();
});
