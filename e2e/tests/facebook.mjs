// Meta's side, faked inside the browser: every request leaving 127.0.0.1 goes through one
// Playwright route. `https://connect.facebook.net/en_US/sdk.js` answers the proxy's sandbox
// SDK stand-in, `https://www.facebook.com/...` its sandbox popup, so the page's origin check
// sees a real Facebook origin. Look-alike hosts (evilfacebook.com, facebook.com.evil.io)
// answer the same popup, for the spoofing test. Anything else is aborted: no network here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './harness.mjs';

const SDK_JS = readFileSync(join(repoRoot, 'proxy/assets/sandbox-sdk.js'), 'utf8');
const POPUP_HTML = readFileSync(join(repoRoot, 'proxy/assets/sandbox-popup.html'), 'utf8');

/** Where the real SDK's popup would be; the fake SDK opens it (with `mode` and `config_id`). */
export const FACEBOOK_POPUP_URL =
  'https://www.facebook.com/v22.0/dialog/oauth?display=popup&response_type=code&app_id=123456789012345';

/** Meta-like ids for live mode (the proxy requires them with a YCloud key). */
export const FB_IDS = {
  FB_APP_ID: '123456789012345',
  FB_CONFIG_ID: '234567890123456',
  FB_SOLUTION_ID: '345678901234567',
};

/** Proxy environment for live mode against the fake YCloud. */
export function liveEnv(fake) {
  // No FB_APP_SECRET here (the verification test adds one), so unverified onboardings
  // must be allowed explicitly; with a secret the permission changes nothing. These tests
  // open the page without a session link, so anonymous onboardings are allowed too
  // (hosted-link.test.mjs covers sessions, and live mode's refusal without one).
  return {
    YCLOUD_API_KEY: fake.apiKey, YCLOUD_BASE_URL: fake.baseUrl,
    ALLOW_UNVERIFIED_ONBOARDINGS: 'true', ALLOW_ANONYMOUS_ONBOARDINGS: 'true', ...FB_IDS,
  };
}

const FACEBOOK_HOSTS = new Set([
  'connect.facebook.net', 'www.facebook.com', 'facebook.com', 'web.facebook.com',
  // look-alikes the origin check must refuse
  'evilfacebook.com', 'facebook.com.evil.io',
]);

/**
 * A browser context with Meta faked. `popupUrl` is where `FB.login` opens its popup;
 * `seed` makes the popup's ids (random otherwise) the same on every run.
 * Returns `{ context, sdk, external }`: set `sdk.blocked = true` to make the SDK fail like
 * an ad blocker does; `external` lists every non-loopback URL the browser asked for.
 */
export async function facebookContext(browser, { popupUrl = FACEBOOK_POPUP_URL, seed = 1 } = {}) {
  const context = await browser.newContext({
    locale: 'en-US',
    viewport: { width: 760, height: 720 },
    deviceScaleFactor: 1,
  });
  const sdk = { blocked: false, served: 0 };
  const external = [];
  await context.addInitScript(({ popupUrl, seed }) => {
    window.__WA_SANDBOX_POPUP_URL = popupUrl;
    // The popup invents its ids with Math.random: seeded there, each test's ids (and so
    // its screenshots) are the same on every run.
    if (location.protocol === 'https:') {
      let a = seed >>> 0;
      Math.random = () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }
    // Every message the page receives, with its origin, for the tests to read.
    window.__seenMessages = [];
    window.addEventListener('message', (e) => {
      const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
      window.__seenMessages.push({ origin: e.origin, data });
    }, true);
  }, { popupUrl, seed });
  await context.route((url) => url.hostname !== '127.0.0.1', async (route) => {
    const url = new URL(route.request().url());
    external.push(url.href);
    if (!FACEBOOK_HOSTS.has(url.hostname) || url.protocol !== 'https:') {
      return route.abort('blockedbyclient');
    }
    if (url.hostname === 'connect.facebook.net') {
      if (sdk.blocked || url.pathname !== '/en_US/sdk.js') return route.abort('blockedbyclient');
      sdk.served += 1;
      return route.fulfill({
        status: 200,
        // The page loads the SDK with crossorigin="anonymous", like Meta's snippet allows.
        headers: { 'Content-Type': 'application/javascript; charset=utf-8', 'Access-Control-Allow-Origin': '*' },
        body: SDK_JS,
      });
    }
    return route.fulfill({
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8' },
      body: POPUP_HTML,
    });
  });
  return { context, sdk, external };
}

/** The WA_EMBEDDED_SIGNUP messages the page received, parsed, with their origins. */
export async function sessionInfoMessages(page) {
  const seen = await page.evaluate(() => window.__seenMessages);
  return seen
    .map(({ origin, data }) => {
      try {
        return { origin, ...JSON.parse(data) };
      } catch {
        return null;
      }
    })
    .filter((m) => m && m.type === 'WA_EMBEDDED_SIGNUP');
}
