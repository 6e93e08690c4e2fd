// Reauthorization in the sandbox's Meta (`WHATSAPP_PROVIDER=meta`): a customer connects a
// number through the partner's link; the partner asks for a new sign-in (as a 190 on the
// stored token would); a link made for that onboarding opens Embedded Signup with the WABA
// prefilled; another WABA is refused, the same WABA and number renew the token, and the
// onboarding is connected again, with `onboarding.reauthorized` in the partner's feed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { launchBrowser, startProxy } from './harness.mjs';
import { axeViolations, throughPopup, waitForState } from './sandbox-flow.mjs';

const PARTNER_KEY = `pk_test_${randomBytes(24).toString('hex')}`;
const CUSTOMER = 'acme-customer-reauth';
const shared = { proxy: null, browser: null };

before(async () => {
  shared.proxy = await startProxy({ WHATSAPP_PROVIDER: 'meta', PARTNER_API_KEYS: PARTNER_KEY });
  shared.browser = await launchBrowser();
});
after(async () => {
  await shared.browser?.close();
  await shared.proxy?.stop();
});

/** A partner API call with the bearer key: `{status, body}`. */
async function partner(method, path, body) {
  const r = await fetch(`${shared.proxy.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${PARTNER_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** A page on `url` that keeps every `wa-signup:connected` detail and page error. */
async function open(url) {
  const context = await shared.browser.newContext();
  await context.addInitScript(() => {
    window.__connected = [];
    document.addEventListener('wa-signup:connected', (e) => window.__connected.push(e.detail), true);
  });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(url);
  await waitForState(page, 'ready');
  return page;
}

test('a reauthorizing link renews the token for the same WABA and number only', async () => {
  const first = await partner('POST', '/api/partner/sessions', { customer_ref: CUSTOMER, modes: ['standard'] });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const page = await open(first.body.url);
  await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
  await waitForState(page, 'connected');
  const [onboarding] = await page.evaluate(() => window.__connected);
  assert.ok(onboarding?.waba_id && onboarding?.phone_number_id, JSON.stringify(onboarding));
  assert.deepEqual(page.errors, []);
  await page.context().close();

  // The partner asks for a new sign-in.
  const asked = await partner('POST', `/api/partner/onboardings/${onboarding.id}/reauthorize`);
  assert.equal(asked.status, 200, JSON.stringify(asked.body));
  assert.equal(asked.body.state, 'action_required');
  assert.equal(asked.body.error.code, 'reauthorize');

  const again = await partner('POST', '/api/partner/sessions', {
    customer_ref: CUSTOMER, reauthorize_onboarding_id: onboarding.id,
  });
  assert.equal(again.status, 201, JSON.stringify(again.body));

  // Another WABA: refused, and the onboarding keeps waiting.
  const wrong = await open(again.body.url);
  await throughPopup(wrong, 'launch-standard', async (p) => {
    await p.getByTestId('sandbox-reauthorize').waitFor();
    assert.equal(await p.inputValue('#waba'), onboarding.waba_id, 'the WABA is prefilled');
    await p.fill('#waba', '900000000000017');
    await p.fill('#phone', onboarding.phone_number_id);
    await p.getByTestId('sandbox-finish').click();
  });
  await wrong.locator('[data-testid="status"]:not([data-state="submitting"]):not([data-state="in-popup"])').waitFor();
  const status = wrong.getByTestId('status');
  assert.equal(await status.getAttribute('data-state'), 'failed');
  assert.match(await status.innerText(), new RegExp(`not ${onboarding.waba_id} whose access is being renewed`));
  await wrong.context().close();
  const waiting = await partner('GET', `/api/partner/onboardings/${onboarding.id}`);
  assert.equal(waiting.body.state, 'action_required');

  // The same WABA and number: the token is renewed and the number connected again.
  const page2 = await open(again.body.url);
  await throughPopup(page2, 'launch-standard', async (p) => {
    const options = JSON.parse(await p.getByTestId('sandbox-launch-options').innerText());
    assert.deepEqual(options.extras.setup.whatsAppBusinessAccount, { ids: [onboarding.waba_id] });
    assert.equal(await p.inputValue('#waba'), onboarding.waba_id);
    await p.fill('#phone', onboarding.phone_number_id);
    await p.getByTestId('sandbox-finish').click();
  });
  await waitForState(page2, 'connected');
  assert.deepEqual(await axeViolations(page2), []);
  assert.deepEqual(page2.errors, []);
  await page2.context().close();

  const renewed = await partner('GET', `/api/partner/onboardings/${onboarding.id}`);
  assert.equal(renewed.body.state, 'connected', JSON.stringify(renewed.body));
  const feed = await partner('GET', `/api/partner/events?onboarding_id=${onboarding.id}&type=onboarding.reauthorized`);
  assert.equal(feed.status, 200, JSON.stringify(feed.body));
  assert.equal(feed.body.data.length, 1, JSON.stringify(feed.body));
  // Nothing new was onboarded: the customer still has one onboarding.
  const listed = await partner('GET', `/api/partner/onboardings?customer_ref=${CUSTOMER}`);
  assert.equal(listed.body.data.length, 1, JSON.stringify(listed.body));
});
