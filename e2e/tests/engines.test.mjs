// The smoke test in the two other engines customers arrive with: Firefox (geckodriver) and
// WebKit (WebKitGTK's WebKitWebDriver, under xvfb-run), through WebDriver. In each: the
// standalone page and the embedded widget launch, go through the sandbox popup, reach
// connected, and switch language once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from './harness.mjs';
import { openSession } from './webdriver.mjs';

const STATUS = (state) => `[data-testid="status"][data-state="${state}"]`;

/** Clicks `launch`, picks `finish` in the sandbox popup, and comes back to the page. */
async function throughPopup(browser, launch, finish) {
  const page = await browser.window();
  const known = await browser.windows();
  await browser.click(`[data-testid="${launch}"]`);
  const popup = await browser.newWindow(known);
  await browser.switchTo(popup);
  await browser.click(`[data-testid="${finish}"]`);
  // The popup closes itself once it has posted Meta's messages.
  const end = Date.now() + 10000;
  while ((await browser.windows()).includes(popup) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await browser.switchTo(page);
}

/** What each engine's pages say they run in: Firefox's Gecko, or WebKit without Chromium's Blink. */
const USER_AGENT = {
  firefox: (ua) => /Gecko\/\d+ Firefox\/\d+/.test(ua),
  webkit: (ua) => /AppleWebKit\//.test(ua) && !/Chrome|Chromium|Firefox/.test(ua),
};

for (const engine of ['firefox', 'webkit']) {
  describe(`in ${engine}`, () => {
    let proxy;
    let browser;
    before(async () => {
      [proxy, browser] = await Promise.all([startProxy(), openSession(engine)]);
    });
    after(async () => {
      await browser?.close();
      await proxy?.stop();
    });

    test('the standalone page switches language, launches, and connects', async () => {
      await browser.go(proxy.url);
      const ua = await browser.run('return navigator.userAgent');
      assert.ok(USER_AGENT[engine](ua), `not ${engine}: ${ua}`);
      await browser.element(STATUS('ready'));
      assert.ok(await browser.run('return !!document.querySelector(\'[data-testid="launch-standard"]\')'));
      await browser.click('[data-testid="locale"] option[value="vi"]');
      await browser.until('the page in Vietnamese', `return document.querySelector('[data-testid="sandbox-badge"]').innerText.includes('không có gì ở đây là thật')`);
      await throughPopup(browser, 'launch-standard', 'sandbox-finish');
      await browser.element(STATUS('connected'));
      // Said in the language chosen before the popup.
      assert.match(await browser.run(`return document.querySelector('[data-testid="status"]').innerText`), /Số WhatsApp của bạn đã được kết nối/);
    });

    test('the embedded widget launches, connects, and tells the page', async () => {
      await browser.go(`${proxy.url}/embed-demo.html`);
      await browser.element(STATUS('ready'));
      await throughPopup(browser, 'launch-coexistence', 'sandbox-finish-coexistence');
      await browser.element(STATUS('connected'));
      await browser.element('[data-testid="event-log"] [data-event="wa-signup:connected"]');
    });
  });
}
