// A partner's own page on another origin, embedding the widget as the README shows: the
// page loads embed.js from the proxy and calls WaSignup.mount without keeping the handle.
// The widget must survive garbage collection, and in sandbox mode finish through the
// stand-in popup, which the proxy serves from its own origin.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { launchBrowser, startProxy } from './harness.mjs';
import { throughPopup, waitForState } from './sandbox-flow.mjs';

let page;
let partnerSite;
let proxy;
let browser;

/** The partner's site on 127.0.0.1 (another port: another origin), serving one page. */
function startPartnerSite(html) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html());
  });
  return new Promise((ok) => {
    server.listen(0, '127.0.0.1', () => ok({
      url: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((r) => server.close(r)),
    }));
  });
}

before(async () => {
  partnerSite = await startPartnerSite(() => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner</title></head>
<body><main><h1>Connect WhatsApp</h1><div id="signup"></div></main>
<script type="module" src="${proxy.url}/embed.js"></script>
<script>
  // As the README shows, and without keeping what mount returns.
  document.addEventListener('wa-signup:ready', () => {
    WaSignup.mount(document.getElementById('signup'), { locale: 'en', customerRef: 'partner-page-1' });
  });
</script></body></html>`);
  [proxy, browser] = await Promise.all([
    startProxy({ ALLOWED_ORIGINS: partnerSite.url }),
    launchBrowser(['--js-flags=--expose-gc']),
  ]);
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await partnerSite?.close();
});

/** Collects garbage until an object dropped now has been finalized (a fact, not a wait). */
async function collectGarbage(p) {
  await p.evaluate(async () => {
    let collected = false;
    const registry = new FinalizationRegistry(() => { collected = true; });
    (() => { registry.register({}, 0); })();
    for (let i = 0; i < 200 && !collected; i++) {
      window.gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!collected) throw new Error('no garbage collection');
    // The other finalizers of that collection run as tasks of their own.
    await new Promise((r) => setTimeout(r, 100));
  });
}

test('a widget mounted without keeping its handle outlives garbage collection and finishes in the sandbox', async () => {
  page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${partnerSite.url}/`);
  await waitForState(page, 'ready');
  await collectGarbage(page);
  await collectGarbage(page);
  await waitForState(page, 'ready', page, 2000);
  assert.equal(await page.getByTestId('launch-standard').count(), 1, 'still mounted after GC');

  // The stand-in popup posts from the proxy's origin, not the partner page's.
  const events = page.evaluate(() => new Promise((ok) => {
    document.addEventListener('wa-signup:connected', (e) => ok(e.detail), { once: true });
  }));
  await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
  await collectGarbage(page);
  await waitForState(page, 'connected');
  const detail = await events;
  assert.equal(detail.sandbox, true);
  assert.equal(detail.customer_ref, 'partner-page-1');
  assert.deepEqual(errors, []);

  // Removing the element unmounts the widget.
  await page.evaluate(() => {
    window.removed = document.getElementById('signup');
    window.removed.remove();
  });
  await page.waitForFunction(() => !window.removed.hasAttribute('data-wa-signup-mounted'));
  assert.equal(await page.evaluate(() => window.removed.innerHTML), '');
  await page.close();
});
