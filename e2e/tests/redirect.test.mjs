// The full-page sign-in (redirect flow) in the sandbox: where Meta's popup cannot work (the
// browser blocks it, or the page is open in an app's built-in browser), the customer
// continues in the same window through the sandbox's stand-in for Meta's dialog and comes
// back connected. Every new page is checked with axe.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { sandboxPerFile, startProxy } from './harness.mjs';
import { axeViolations, waitForState } from './sandbox-flow.mjs';

const env = sandboxPerFile(before, after);

/** Instagram's in-app browser on an iPhone. */
const INSTAGRAM_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 '
  + '(KHTML, like Gecko) Mobile/15E148 Instagram 307.0.0.34.111 (iPhone15,2; iOS 17_1)';

async function assertAccessible(page, what) {
  assert.deepEqual(await axeViolations(page), [], `axe violations on ${what}`);
}

test('with popups blocked, "Continue in this window" ends connected', async () => {
  const context = await env.browser.newContext();
  // A browser that refuses every popup: window.open answers null, as a blocker's does.
  await context.addInitScript(() => { window.open = () => null; });
  const page = await context.newPage();
  await page.goto(env.proxy.url);
  await waitForState(page, 'ready');
  await page.getByTestId('launch-coexistence').click();
  await waitForState(page, 'popup-blocked');
  await assertAccessible(page, 'popup-blocked');
  const buttons = page.getByTestId('continue-redirect');
  assert.equal(await buttons.count(), 1);
  assert.equal(await buttons.getAttribute('data-mode'), 'coexistence');
  await buttons.click();
  await page.waitForURL((u) => u.pathname === '/sandbox/dialog/oauth');
  const sent = new URL(page.url()).searchParams;
  assert.equal(sent.get('response_type'), 'code');
  assert.equal(sent.get('override_default_response_type'), 'true');
  assert.equal(sent.get('redirect_uri'), `${env.proxy.url}/oauth/callback`);
  assert.ok(sent.get('state')?.startsWith('v1.'));
  // The popup's own extras, as JSON.
  const extras = JSON.parse(sent.get('extras'));
  assert.equal(extras.featureType, 'whatsapp_business_app_onboarding');
  assert.equal(extras.version, 'v4');
  await assertAccessible(page, 'the sandbox dialog');
  await page.getByTestId('sandbox-dialog-finish').click();
  await page.waitForURL((u) => u.pathname === '/');
  await waitForState(page, 'connected');
  assert.ok(!page.url().includes('wa-signup-result'), 'the handle leaves the address');
  await context.close();
});

test('an in-app browser gets the full-page sign-in first, and picks among two numbers', async () => {
  const context = await env.browser.newContext({ userAgent: INSTAGRAM_UA });
  const page = await context.newPage();
  await page.goto(env.proxy.url);
  await waitForState(page, 'popup-blocked');
  await assertAccessible(page, 'the in-app browser screen');
  assert.equal(await page.getByTestId('launch-standard').count(), 0, 'no popup button first');
  const standard = page.locator('[data-testid="continue-redirect"][data-mode="standard"]');
  await standard.click();
  await page.waitForURL((u) => u.pathname === '/sandbox/dialog/oauth');
  await page.getByTestId('sandbox-dialog-finish-two').click();
  await page.getByTestId('redirect-chooser').waitFor();
  await assertAccessible(page, 'the chooser');
  await page.getByTestId('redirect-choose').click();
  await page.waitForURL((u) => u.pathname === '/');
  await waitForState(page, 'connected');
  await context.close();
});

test('the callback\'s sentences are accessible and a used state does nothing', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.proxy.url}/oauth/callback?code=x&state=v1.not.issued`);
  const notice = page.getByTestId('redirect-notice');
  assert.equal(await notice.getAttribute('data-state'), 'state-invalid');
  await assertAccessible(page, 'the state-invalid page');
  // A cancel in the dialog: our sentence, in the page's language.
  await context.addInitScript(() => { window.open = () => null; });
  await page.goto(env.proxy.url);
  await waitForState(page, 'ready');
  await page.getByTestId('locale').selectOption('vi');
  await page.getByTestId('launch-standard').click();
  await waitForState(page, 'popup-blocked');
  await page.getByTestId('continue-redirect').click();
  await page.waitForURL((u) => u.pathname === '/sandbox/dialog/oauth');
  await page.getByTestId('sandbox-dialog-cancel').click();
  await page.waitForURL((u) => u.pathname === '/oauth/callback');
  assert.equal(await page.getByTestId('redirect-notice').getAttribute('data-state'), 'cancelled');
  assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
  await assertAccessible(page, 'the cancelled page');
  await context.close();
});

/**
 * A partner's site on another origin (another port of this machine): every path answers a
 * page embedding the widget from the proxy at `site.proxyUrl`, as the README says.
 */
function startPartnerSite() {
  const site = { proxyUrl: '' };
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Shop: WhatsApp</title></head>
<body><main><h1>Acme Shop</h1>
<div data-wa-signup data-mode="standard"></div>
<script type="module" src="${site.proxyUrl}/embed.js"></script>
</main></body></html>`);
  });
  return new Promise((ok) => {
    server.listen(0, '127.0.0.1', () => ok(Object.assign(site, {
      origin: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((r) => server.close(r)),
    })));
  });
}

test('a session with a return_url brings the customer back to the partner\'s page, connected there', async () => {
  const key = `pk_test_${randomBytes(24).toString('hex')}`;
  // The partner's site first: the proxy must allow its origin (CORS, return_url).
  const site = await startPartnerSite();
  const shop = site.origin;
  const proxy = await startProxy({ PARTNER_API_KEYS: key, ALLOWED_ORIGINS: shop });
  site.proxyUrl = proxy.url;
  try {
    const res = await fetch(`${proxy.url}/api/partner/sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ customer_ref: 'acme-7', modes: ['standard'], return_url: `${shop}/whatsapp?step=2#top` }),
    });
    assert.equal(res.status, 201);
    const session = await res.json();
    const context = await env.browser.newContext({ userAgent: INSTAGRAM_UA });
    const page = await context.newPage();
    await page.goto(session.url);
    await waitForState(page, 'popup-blocked');
    await page.getByTestId('continue-redirect').click();
    await page.waitForURL((u) => u.pathname === '/sandbox/dialog/oauth');
    await page.getByTestId('sandbox-dialog-finish').click();
    // Back on the partner's page (its own fragment replaced by the result), whose widget
    // picks the onboarding up and follows it with the token the pick-up answered.
    await page.waitForURL((u) => u.origin === shop && u.pathname === '/whatsapp');
    await waitForState(page, 'connected');
    const back = new URL(page.url());
    assert.equal(back.search, '?step=2');
    assert.equal(back.hash, '', 'the handle leaves the address');
    await assertAccessible(page, 'the partner\'s page, connected');
    await context.close();
  } finally {
    await proxy.stop();
    await site.close();
  }
});
