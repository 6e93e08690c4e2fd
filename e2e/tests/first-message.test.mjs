// The finished page's first message, in the sandbox: once connected, the widget offers a
// wa.me link to the number (and its QR code); a message to the number arrives as YCloud's
// inbound webhook (signed as YCloud signs it, with the proxy's YCLOUD_WEBHOOK_SECRET), and
// the page says it arrived.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { launchBrowser, startProxy } from './harness.mjs';
import { axeViolations, throughPopup, waitForState } from './sandbox-flow.mjs';

const SECRET = 'e2e-first-message-webhook-secret';
const shared = { proxy: null, browser: null };

before(async () => {
  shared.proxy = await startProxy({ YCLOUD_WEBHOOK_SECRET: SECRET });
  shared.browser = await launchBrowser();
});
after(async () => {
  await shared.browser?.close();
  await shared.proxy?.stop();
});

/** Posts `event` to the proxy's YCloud webhook with a valid `YCloud-Signature`. */
async function postYCloudWebhook(event) {
  const body = JSON.stringify(event);
  const t = Math.floor(Date.now() / 1000);
  const s = createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex');
  return fetch(`${shared.proxy.url}/webhooks/ycloud`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'YCloud-Signature': `t=${t},s=${s}` },
    body,
  });
}

test('a connected number is offered a first message, and the page says when it arrived', async () => {
  const context = await shared.browser.newContext();
  await context.addInitScript(() => {
    window.__connected = [];
    document.addEventListener('wa-signup:connected', (e) => window.__connected.push(e.detail), true);
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(shared.proxy.url);
  await waitForState(page, 'ready');
  await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
  await waitForState(page, 'connected');

  const block = page.getByTestId('first-message');
  await block.waitFor();
  assert.equal(await block.getAttribute('data-arrived'), 'false');
  const link = page.getByTestId('first-message-link');
  const href = await link.getAttribute('href');
  const m = /^https:\/\/wa\.me\/(\d{7,15})\?text=(.+)$/.exec(href);
  assert.ok(m, href);
  assert.ok(decodeURIComponent(m[2]).trim().length > 0, href);
  const qr = page.getByTestId('first-message-qr');
  assert.equal(await qr.getAttribute('role'), 'img');
  assert.match(await qr.getAttribute('aria-label'), /QR code .*\+1 555/);
  assert.deepEqual(await axeViolations(page), []);

  // The customer sends the number a message: YCloud tells the proxy (only that it arrived
  // is kept), and the page, which keeps asking, says so.
  const [onboarding] = await page.evaluate(() => window.__connected);
  assert.ok(onboarding?.waba_id, JSON.stringify(onboarding));
  const r = await postYCloudWebhook({
    id: `evt_e2e_inbound_${Date.now()}`,
    type: 'whatsapp.inbound_message.received',
    apiVersion: 'v2',
    createTime: new Date().toISOString(),
    whatsappInboundMessage: {
      id: 'msg_e2e_1', wamid: 'wamid.E2E1', wabaId: onboarding.waba_id,
      from: '+447700900123', to: `+${m[1]}`, type: 'text', text: { body: decodeURIComponent(m[2]) },
    },
  });
  assert.equal(r.status, 204, await r.text());
  await page.locator('[data-testid="first-message"][data-arrived="true"]').waitFor({ timeout: 20000 });
  assert.equal(
    await page.getByTestId('first-message-status').innerText(),
    'Your message arrived: your number receives messages.',
  );
  assert.equal(await page.evaluate(() => window.__connected.length), 1, 'connected is said once');
  assert.deepEqual(errors, []);
  await context.close();
});
