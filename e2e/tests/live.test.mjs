// The whole flow in live mode: the release bundle served by the real proxy binary, which has
// a YCloud key and talks to the proxy crate's fake YCloud (`fake-ycloud`, started by
// ../fake-ycloud.mjs; its answers: proxy/src/sandbox.rs); the page loads the Facebook
// SDK from its real address, which the browser context answers with a fake (./facebook.mjs)
// whose popup lives on https://www.facebook.com.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startFakeYCloud } from '../fake-ycloud.mjs';
import { launchBrowser, screenshotDir, startProxy } from './harness.mjs';
import { facebookContext, liveEnv, sessionInfoMessages } from './facebook.mjs';

/** The onboarding ids the page keeps in sessionStorage for a reload (keys `wa-signup:…`). */
function storedIds(page) {
  return page.evaluate(() => Object.keys(sessionStorage)
    .filter((k) => k.startsWith('wa-signup:'))
    .map((k) => sessionStorage.getItem(k)));
}

let fake;
let proxy;
let browser;

before(async () => {
  fake = await startFakeYCloud();
  [proxy, browser] = await Promise.all([startProxy(liveEnv(fake)), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await fake?.close();
});

// ---- helpers -------------------------------------------------------------------------------

function status(page) {
  return page.getByTestId('status');
}

async function waitState(page, state, timeout = 20000) {
  await page.locator(`[data-testid="status"][data-state="${state}"]`).waitFor({ timeout });
}

async function statusText(page) {
  return (await status(page).innerText()).replace(/\s+/g, ' ').trim();
}

async function shot(page, name) {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true, animations: 'disabled' });
}

/**
 * A page of `url` in `context`, ready to launch. `page.posts` collects the bodies of
 * `POST /api/onboardings`, `page.answers` promises of their answers, `page.errors`
 * uncaught exceptions.
 */
async function openPage(context, url, { expect = 'ready' } = {}) {
  const page = await context.newPage();
  page.errors = [];
  page.posts = [];
  page.answers = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('response', (r) => {
    const req = r.request();
    if (req.method() === 'POST' && new URL(r.url()).pathname === '/api/onboardings') {
      page.answers.push(r.json().catch(() => null));
    }
  });
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/onboardings') {
      page.posts.push(JSON.parse(r.postData() ?? 'null'));
    }
  });
  await page.goto(url);
  if (expect) await waitState(page, expect);
  return page;
}

/** Clicks a launch button and returns Meta's popup once it has loaded. */
async function launch(page, mode = 'standard', how = 'click') {
  const opened = page.waitForEvent('popup');
  await page.getByTestId(`launch-${mode}`)[how]();
  const popup = await opened;
  await popup.waitForLoadState('domcontentloaded');
  return popup;
}

/** The options object `FB.login` received, as the fake SDK handed it to the popup. */
function launchOptions(popup) {
  return JSON.parse(new URL(popup.url()).searchParams.get('options'));
}

/** Clicks one of the sandbox popup's buttons; the popup posts its messages and closes. */
async function inPopup(popup, testid) {
  const closed = popup.waitForEvent('close');
  await popup.getByTestId(testid).click({ noWaitAfter: true });
  await closed;
}

/** The one session-info message the page got from Facebook. */
async function lastSessionInfo(page) {
  const messages = await sessionInfoMessages(page);
  assert.ok(messages.length > 0, 'no session info reached the page');
  return messages.at(-1);
}

/**
 * How many POSTs the fake YCloud received: binds and registers, what a trusted FINISH leads
 * to. Not every call: the health schedule reads numbers earlier tests connected (GETs) at
 * times of its own.
 */
async function upstreamPosts() {
  return (await fake.calls()).filter((c) => c.method === 'POST').length;
}

/** The calls the fake YCloud received about `waba`, as `METHOD path`. */
async function callsFor(waba) {
  return (await fake.calls()).filter((c) => c.path.includes(`/${waba}`)).map((c) => `${c.method} ${c.path}`);
}

// Each test's popup ids differ from the other tests' (one proxy database for the file) and
// are the same on every run.
let seed = 0;
async function newContext(opts = {}) {
  seed += 1;
  return facebookContext(browser, { seed: seed * 7919, ...opts });
}

// ---- tests ---------------------------------------------------------------------------------

test('live mode: /api/config hands the real SDK address to the page', async () => {
  const config = await (await fetch(`${proxy.url}/api/config`)).json();
  assert.equal(config.sandbox, false);
  assert.equal(config.sdk_url, 'https://connect.facebook.net/en_US/sdk.js');
  assert.equal(config.app_id, '123456789012345');
  assert.equal(config.es_version, 'v4', 'Embedded Signup v4 unless FB_ES_VERSION says otherwise');
  assert.deepEqual(
    { ...(await (await fetch(`${proxy.url}/healthz`)).json()), version: 'x' },
    { status: 'ok', mode: 'live', provider: 'ycloud', version: 'x' },
  );
});

test('standard mode: Facebook popup, bind, register, pending, connected', async () => {
  const { context, sdk } = await newContext();
  try {
    const page = await openPage(context, proxy.url);
    assert.equal(sdk.served, 1, 'the page loaded the SDK from connect.facebook.net');
    assert.equal(await page.getByTestId('sandbox-badge').count(), 0, 'no sandbox badge in live mode');
    await shot(page, 'ready');

    const popup = await launch(page, 'standard');
    assert.match(popup.url(), /^https:\/\/www\.facebook\.com\/v22\.0\/dialog\/oauth\?.*mode=standard/);
    // Embedded Signup v4: the version named, no features (they live in the login configuration).
    assert.deepEqual(launchOptions(popup), {
      config_id: '234567890123456',
      response_type: 'code',
      override_default_response_type: true,
      extras: { setup: { solutionID: '345678901234567' }, sessionInfoVersion: '3', version: 'v4' },
    });
    assert.equal(await popup.getByTestId('sandbox-es-version').innerText(), 'v4');
    await waitState(page, 'in-popup');
    assert.match(await statusText(page), /Continue in the Facebook window\./);
    await shot(page, 'in-popup');

    await inPopup(popup, 'sandbox-finish');
    await waitState(page, 'pending');
    const info = await lastSessionInfo(page);
    assert.equal(info.origin, 'https://www.facebook.com');
    assert.equal(info.event, 'FINISH');
    const { waba_id: waba, phone_number_id: phone } = info.data;
    assert.equal(await page.getByTestId('waba-id').innerText(), waba);
    assert.equal(await page.getByTestId('phone-number-id').innerText(), phone);
    assert.match(await statusText(page), /Setting up your number\. This page updates by itself\./);
    await shot(page, 'pending');

    await waitState(page, 'connected');
    assert.match(await statusText(page), /Your WhatsApp number is connected\./);
    const marks = await page.locator('[data-testid=progress] li').evaluateAll((lis) => lis.map((li) => li.dataset.mark));
    assert.deepEqual(marks, ['done', 'done', 'done', 'done']);
    // The number as people know it, and its business name; the ids only as detail.
    assert.match(await page.getByTestId('display-phone-number').innerText(), /^\+\d[\d -]+$/);
    assert.equal(await page.getByTestId('verified-name').innerText(), 'Sandbox Shop');
    await shot(page, 'connected');

    assert.equal(page.posts.length, 1);
    assert.equal(page.posts[0].mode, 'standard');
    assert.equal(page.posts[0].waba_id, waba);
    assert.equal(page.posts[0].phone_number_id, phone);
    assert.match(page.posts[0].code ?? '', /^SANDBOX-/, 'the login code travels with the ids');
    const calls = await callsFor(waba);
    assert.deepEqual(calls.slice(0, 2), [
      `POST /v2/whatsapp/businessAccounts/${waba}/tp/bind`,
      `POST /v2/whatsapp/phoneNumbers/${waba}/${phone}/register`,
    ]);
    assert.ok(calls.slice(2).every((c) => c.startsWith(`GET /v2/whatsapp/phoneNumbers/${waba}/+1555`)), calls.join('\n'));
    assert.deepEqual(await storedIds(page), [], 'a settled onboarding is forgotten');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('a standard click Meta reports as coexistence ends connected as coexistence, never registered', async () => {
  const { context } = await newContext();
  try {
    const page = await openPage(context, proxy.url);
    const popup = await launch(page, 'standard');
    await inPopup(popup, 'sandbox-finish-coexistence');
    await waitState(page, 'connected');
    assert.equal(page.posts.length, 1);
    assert.equal(page.posts[0].mode, 'standard', 'the button pressed');
    assert.equal(page.posts[0].event, 'FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING');
    const answer = await page.answers[0];
    assert.equal(answer.mode, 'coexistence', 'the mode Meta reported');
    assert.equal(answer.launched_mode, 'standard');
    const waba = page.posts[0].waba_id;
    const calls = await callsFor(waba);
    assert.ok(calls.some((c) => c === `POST /v2/whatsapp/businessAccounts/${waba}/smb/bind`), calls.join('\n'));
    assert.ok(!calls.some((c) => c.endsWith('/register') || c.endsWith('/tp/bind')), calls.join('\n'));
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('coexistence mode: smb/bind, never register, connected', async () => {
  const { context } = await newContext();
  try {
    const page = await openPage(context, proxy.url);
    const popup = await launch(page, 'coexistence');
    assert.match(popup.url(), /mode=coexistence/);
    assert.deepEqual(launchOptions(popup).extras, {
      setup: { solutionID: '345678901234567' },
      sessionInfoVersion: '3',
      version: 'v4',
      featureType: 'whatsapp_business_app_onboarding',
    });
    await inPopup(popup, 'sandbox-finish-coexistence');
    await waitState(page, 'connected');
    const info = await lastSessionInfo(page);
    assert.equal(info.event, 'FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING');
    const waba = info.data.waba_id;
    assert.equal(await page.getByTestId('waba-id').innerText(), waba);
    assert.match(await statusText(page), /Your WhatsApp number is connected\./);
    assert.equal(page.posts.length, 1);
    assert.equal(page.posts[0].mode, 'coexistence');
    const calls = await callsFor(waba);
    assert.equal(calls[0], `POST /v2/whatsapp/businessAccounts/${waba}/smb/bind`);
    assert.ok(!calls.some((c) => c.includes('/register')), calls.join('\n'));
    assert.ok(!calls.some((c) => c.includes('/tp/bind')), calls.join('\n'));
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

/** Launches standard mode and answers FINISH_ONLY_WABA; returns the page and the WABA id. */
async function finishOnlyWaba(context) {
  const page = await openPage(context, proxy.url);
  const popup = await launch(page, 'standard');
  await inPopup(popup, 'sandbox-finish-only-waba');
  await waitState(page, 'action-required');
  const info = await lastSessionInfo(page);
  assert.equal(info.event, 'FINISH_ONLY_WABA');
  return { page, waba: info.data.waba_id };
}

test('FINISH_ONLY_WABA: bound, nothing registered, action required', async () => {
  const { context } = await newContext();
  try {
    const { page, waba } = await finishOnlyWaba(context);
    assert.equal(await page.getByTestId('waba-id').innerText(), waba);
    assert.equal(await page.getByTestId('phone-number-id').count(), 0);
    assert.deepEqual(await callsFor(waba), [`POST /v2/whatsapp/businessAccounts/${waba}/tp/bind`]);
    assert.equal(page.posts.length, 1);
    assert.equal(page.posts[0].phone_number_id, undefined);
    // The proxy's answer (proxy/README.md): action_required, phone_number_missing, final.
    const onboarding = await page.answers[0];
    assert.equal(onboarding.state, 'action_required');
    assert.equal(onboarding.error.code, 'phone_number_missing');
    assert.equal(onboarding.error.retryable, false);
    assert.equal(await page.getByTestId('retry').count(), 0, 'nothing to retry: sign up again with a number');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('FINISH_ONLY_WABA: the status sentence is about the missing number', async () => {
  const { context } = await newContext();
  try {
    const { page } = await finishOnlyWaba(context);
    const text = await statusText(page);
    assert.match(text, /created without a phone number\. Click a button to start again and add a number\./);
    assert.doesNotMatch(text, /payment method/i);
    // Not a dead end: the launch buttons start over.
    assert.equal(await page.getByTestId('launch-standard').isEnabled(), true);
    await shot(page, 'action-required-no-number');
  } finally {
    await context.close();
  }
});

test('payment method missing: action required, the provider said to be told (never YCloud), then retry connects', async () => {
  const { context } = await newContext();
  await fake.set({ paymentMissing: true });
  try {
    const page = await openPage(context, proxy.url);
    const popup = await launch(page, 'standard');
    await inPopup(popup, 'sandbox-finish');
    await waitState(page, 'action-required');
    const waba = (await lastSessionInfo(page)).data.waba_id;
    assert.deepEqual(await callsFor(waba), [`POST /v2/whatsapp/businessAccounts/${waba}/tp/bind`]);
    const text = await statusText(page);
    // The customer does not know YCloud: only their provider (told by its webhook) can act.
    assert.match(text, /its payment method for messages is not set up yet\./);
    assert.match(text, /Your provider has been told and will finish the setup; you do not need to do anything\./);
    assert.doesNotMatch(text, /YCloud/);
    const marks = await page.locator('[data-testid=progress] li').evaluateAll((lis) => lis.map((li) => li.dataset.mark));
    assert.deepEqual(marks.slice(0, 2), ['done', 'failed']);
    await shot(page, 'action-required');

    // The proxy calls it retryable: once YCloud has attached its credit line, "Try again"
    // re-reads the WABA and goes on to register.
    await fake.set({ paymentMissing: false });
    await page.getByTestId('retry').click();
    await waitState(page, 'connected');
    const after = await callsFor(waba);
    assert.equal(after[1], `GET /v2/whatsapp/businessAccounts/${waba}`);
    assert.match(after[2], /^POST .*\/register$/);
    assert.equal(after.filter((c) => c.includes('/tp/bind')).length, 1, 'no second bind');
    assert.deepEqual(page.errors, []);
  } finally {
    await fake.set({ paymentMissing: false });
    await context.close();
  }
});

test('register limit: the refusal says when, offers no "Try again", and leaves another number open', async () => {
  const { context } = await newContext();
  try {
    const page = await openPage(context, proxy.url);
    const retries = [];
    page.on('response', (r) => {
      if (r.request().method() === 'POST' && r.url().endsWith('/retry')) retries.push(r.status());
    });
    const popup = await launch(page, 'standard');
    // A WABA id ending in 429: the fake answers register with Meta's 133016.
    await popup.locator('#waba').fill('777000000000429');
    await inPopup(popup, 'sandbox-finish');
    await waitState(page, 'failed');
    const text = await statusText(page);
    assert.match(text, /limit of registration attempts/);
    // The number is blocked for 72 hours: no button that cannot succeed, and no raw timestamp.
    assert.equal(await page.getByTestId('retry').count(), 0);
    assert.doesNotMatch(text, /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    // The onboarding stays on screen ...
    assert.equal(await page.getByTestId('waba-id').innerText(), '777000000000429');
    const marks = await page.locator('[data-testid=progress] li').evaluateAll((lis) => lis.map((li) => li.dataset.mark));
    assert.deepEqual(marks, ['done', 'done', 'failed', 'waiting']);
    // ... and the customer can still try another number.
    assert.equal(await page.getByTestId('launch-standard').isEnabled(), true);
    assert.deepEqual(retries, []);
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('cancel at a step: the step is named, nothing is sent', async () => {
  const { context } = await newContext();
  try {
    const page = await openPage(context, proxy.url);
    const popup = await launch(page, 'standard');
    await popup.locator('#step').selectOption('WABA_PHONE_PROFILE_PICKER');
    await inPopup(popup, 'sandbox-cancel');
    await waitState(page, 'cancelled');
    const text = await statusText(page);
    assert.match(text, /You closed the Facebook window at the step “choose a WhatsApp Business Account”\./);
    assert.match(text, /Nothing was created\./);
    assert.equal(page.posts.length, 0);
    assert.ok(await page.getByTestId('launch-standard').isEnabled(), 'a new launch is possible');
    await shot(page, 'cancelled');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('an error reported in the popup: its message and session id are shown', async () => {
  const { context } = await newContext();
  try {
    const page = await openPage(context, proxy.url);
    const popup = await launch(page, 'standard');
    await popup.locator('#error-message').fill('The phone number could not be verified.');
    await inPopup(popup, 'sandbox-error');
    await waitState(page, 'failed');
    const info = await lastSessionInfo(page);
    const text = await statusText(page);
    assert.match(text, /Facebook reported an error: The phone number could not be verified\./);
    assert.ok(text.includes(`session ${info.data.session_id}`), text);
    assert.match(await page.getByTestId('support-reference').innerText(), new RegExp(`session ${info.data.session_id}`));
    assert.equal(page.posts.length, 0);
    await shot(page, 'failed-reported-error');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('messages from look-alike origins are ignored; Facebook\'s own still count', async () => {
  // FB.login opens its popup on a look-alike host: its FINISH must not be trusted.
  const { context } = await newContext({
    popupUrl: 'https://evilfacebook.com/v22.0/dialog/oauth?display=popup',
  });
  try {
    const page = await openPage(context, proxy.url);
    const calls = await upstreamPosts();
    const evil = await launch(page, 'standard');
    assert.equal(new URL(evil.url()).origin, 'https://evilfacebook.com');
    await inPopup(evil, 'sandbox-finish');
    // A second look-alike, opened by hand: facebook.com.evil.io.
    const opened = page.waitForEvent('popup');
    await page.evaluate(() => window.open('https://facebook.com.evil.io/dialog?display=popup', 'spoof'));
    const evil2 = await opened;
    await evil2.waitForLoadState('domcontentloaded');
    await inPopup(evil2, 'sandbox-finish');
    // Both FINISH messages did reach the page...
    await page.waitForFunction(() => window.__seenMessages.filter((m) => m.data.includes('"FINISH"')).length >= 2);
    const origins = (await sessionInfoMessages(page)).map((m) => m.origin);
    assert.deepEqual(origins, ['https://evilfacebook.com', 'https://facebook.com.evil.io']);
    // ...and changed nothing: still waiting for Facebook, nothing posted, nothing bound.
    assert.equal(await status(page).getAttribute('data-state'), 'in-popup');
    assert.equal(page.posts.length, 0);
    assert.equal(await upstreamPosts(), calls);

    // The listener is alive: a message from https://www.facebook.com is taken.
    const realOpened = page.waitForEvent('popup');
    await page.evaluate(() => window.open('https://www.facebook.com/v22.0/dialog/oauth?display=popup', 'real'));
    const real = await realOpened;
    await real.waitForLoadState('domcontentloaded');
    await real.locator('#step').selectOption('PERMISSIONS');
    await inPopup(real, 'sandbox-cancel');
    await waitState(page, 'cancelled');
    assert.match(await statusText(page), /“review permissions”/);
    assert.equal(page.posts.length, 0);
    assert.equal(await upstreamPosts(), calls);
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('SDK blocked: said so, then retry once unblocked reaches ready', async () => {
  const { context, sdk } = await newContext();
  sdk.blocked = true;
  try {
    const page = await openPage(context, proxy.url, { expect: 'sdk-blocked' });
    const text = await statusText(page);
    assert.match(text, /Facebook could not be loaded in this browser\./);
    assert.match(text, /Allow facebook\.net for this page, then try again\./);
    assert.ok(await page.getByTestId('launch-standard').isDisabled());
    await shot(page, 'sdk-blocked');

    sdk.blocked = false;
    await page.getByTestId('retry').click();
    await waitState(page, 'ready');
    assert.equal(sdk.served, 1);
    assert.ok(await page.getByTestId('launch-standard').isEnabled());
    assert.equal(await page.getByTestId('retry').count(), 0);
    // And the flow works from there.
    const popup = await launch(page, 'standard');
    await inPopup(popup, 'sandbox-cancel');
    await waitState(page, 'cancelled');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('proxy down after load: unreachable, ids kept, retry works once it is back', async () => {
  const own = await startProxy(liveEnv(fake));
  const { context } = await newContext();
  let restarted;
  try {
    const page = await openPage(context, own.url);
    await own.stop({ keepData: true });

    const popup = await launch(page, 'standard');
    await inPopup(popup, 'sandbox-finish');
    await waitState(page, 'failed');
    const text = await statusText(page);
    assert.match(text, /The server cannot be reached right now\./);
    assert.match(text, /Your account details are kept in this page\./);
    assert.ok(await page.getByTestId('retry').isVisible());
    assert.ok(await page.getByTestId('launch-standard').isDisabled(), 'retry, not a new popup');
    await shot(page, 'proxy-down');
    const { waba_id: waba, phone_number_id: phone } = (await lastSessionInfo(page)).data;
    assert.deepEqual(await callsFor(waba), []);

    restarted = await startProxy(liveEnv(fake), { port: own.port, dir: own.dir });
    await page.getByTestId('retry').click();
    await waitState(page, 'connected');
    assert.equal(await page.getByTestId('waba-id').innerText(), waba);
    assert.equal(await page.getByTestId('phone-number-id').innerText(), phone);
    assert.equal(page.posts.length, 2, 'the same ids, sent again');
    assert.deepEqual(page.posts[1], page.posts[0]);
    assert.equal((await callsFor(waba)).filter((c) => c.includes('/tp/bind')).length, 1);
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
    await (restarted ?? own).stop();
  }
});

test('a second click while a flow runs: one popup, one POST', async () => {
  const { context } = await newContext();
  try {
    const page = await openPage(context, proxy.url);
    let popups = 0;
    page.on('popup', () => { popups += 1; });
    // A double click on the button...
    const popup = await launch(page, 'standard', 'dblclick');
    await waitState(page, 'in-popup');
    assert.ok(await page.getByTestId('launch-standard').isDisabled());
    assert.ok(await page.getByTestId('launch-coexistence').isDisabled());
    // ...then clicks on both buttons even with `disabled` taken away: the flow refuses them.
    await page.evaluate(() => {
      for (const b of document.querySelectorAll('[data-testid^=launch-]')) {
        b.disabled = false;
        b.click();
      }
    });
    await inPopup(popup, 'sandbox-finish');
    await waitState(page, 'connected');
    assert.equal(popups, 1);
    assert.equal(page.posts.length, 1);
    const waba = (await lastSessionInfo(page)).data.waba_id;
    assert.equal((await callsFor(waba)).filter((c) => c.startsWith('POST')).length, 2, 'one bind, one register');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('reload while pending: the onboarding is found again and connects', async () => {
  const { context } = await newContext();
  await fake.set({ holdPending: true });
  try {
    const page = await openPage(context, proxy.url);
    const popup = await launch(page, 'standard');
    await inPopup(popup, 'sandbox-finish');
    await waitState(page, 'pending');
    const waba = (await lastSessionInfo(page)).data.waba_id;
    const id = (await page.answers[0]).id;
    assert.deepEqual(await storedIds(page), [id]);

    await page.reload();
    await waitState(page, 'pending');
    assert.equal(await page.getByTestId('waba-id').innerText(), waba);
    assert.deepEqual(await storedIds(page), [id]);

    await fake.set({ holdPending: false });
    await waitState(page, 'connected', 30000);
    assert.equal(await page.getByTestId('waba-id').innerText(), waba);
    assert.equal(page.posts.length, 1, 'no second onboarding after the reload');
    assert.deepEqual(await storedIds(page), [], 'a settled onboarding is forgotten');
    assert.deepEqual(page.errors, []);
  } finally {
    await fake.set({ holdPending: false });
    await context.close();
  }
});

/**
 * A fake Graph API for the ownership check: the code exchange fails with 503 while
 * `graph.down` is true; otherwise every code is exchanged, `debug_token` answers Meta's
 * June 2026 shape (no target ids) and the WABA lists `graph.numbers`.
 */
async function startFakeGraph() {
  const graph = { down: true, numbers: [], calls: [] };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    graph.calls.push(url.pathname);
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname.endsWith('/oauth/access_token')) {
      if (graph.down) return send(503, { error: { message: 'Service temporarily unavailable', code: 2 } });
      return send(200, { access_token: 'EAA-e2e-token', token_type: 'bearer' });
    }
    if (url.pathname.endsWith('/debug_token')) {
      return send(200, { data: { is_valid: true, granular_scopes: [
        { scope: 'business_management' }, { scope: 'whatsapp_business_manage_events' }] } });
    }
    if (url.pathname.endsWith('/phone_numbers') && req.headers.authorization === 'Bearer EAA-e2e-token') {
      return send(200, { data: graph.numbers.map((id) => ({ id })) });
    }
    return send(400, { error: { message: 'Unsupported get request', code: 100 } });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  graph.url = `http://127.0.0.1:${server.address().port}`;
  graph.close = () => new Promise((ok) => server.close(ok));
  return graph;
}

test('ownership check on, Graph down: "Try again" resends the same ids and the sign-up goes on', async () => {
  const graph = await startFakeGraph();
  const verifying = await startProxy({ ...liveEnv(fake), FB_APP_SECRET: 'e2e-app-secret', GRAPH_BASE_URL: graph.url });
  const { context } = await newContext();
  try {
    const page = await openPage(context, verifying.url);
    const popup = await launch(page, 'standard');
    await inPopup(popup, 'sandbox-finish');
    await waitState(page, 'failed');
    assert.match(await statusText(page), /could not verify the sign-up right now/);
    assert.equal(await page.getByTestId('launch-standard').isDisabled(), true, 'the ids are kept for the retry');
    const { waba_id: waba, phone_number_id: phone } = (await lastSessionInfo(page)).data;
    assert.deepEqual(await callsFor(waba), [], 'nothing reached YCloud while unverified');

    graph.down = false;
    graph.numbers = ['100000000000009', phone];
    await page.getByTestId('retry').click();
    await waitState(page, 'connected');
    assert.equal(page.posts.length, 2);
    assert.deepEqual(page.posts[1], page.posts[0], 'the very same ids and code');
    assert.ok(graph.calls.some((p) => p.endsWith(`/${waba}/phone_numbers`)), graph.calls.join('\n'));
    assert.equal((await callsFor(waba))[0], `POST /v2/whatsapp/businessAccounts/${waba}/tp/bind`);
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
    await verifying.stop();
    await graph.close();
  }
});
