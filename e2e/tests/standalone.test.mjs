import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sandboxPerFile, screenshotDir } from './harness.mjs';

const env = sandboxPerFile(before, after);

test('the proxy serves the release bundle and the page shows both launch buttons', async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(env.proxy.url);
  const standard = page.getByTestId('launch-standard');
  const coexistence = page.getByTestId('launch-coexistence');
  await standard.waitFor({ state: 'visible', timeout: 15000 });
  await coexistence.waitFor({ state: 'visible' });
  const status = page.getByTestId('status');
  assert.equal(await status.getAttribute('aria-live'), 'polite');
  // A sandbox says so in words, in the page's language.
  const badge = page.getByTestId('sandbox-badge');
  await badge.waitFor({ state: 'visible' });
  assert.match(await badge.innerText(), /Sandbox: nothing here is real/);
  assert.equal(await badge.getAttribute('role'), 'note');
  await page.getByTestId('locale').selectOption('vi');
  // Languages other than English arrive when chosen (i18n/vi.json): wait for the words.
  await badge.filter({ hasText: 'không có gì ở đây là thật' }).waitFor();
  await page.getByTestId('locale').selectOption('en');
  assert.deepEqual(
    { ...(await (await fetch(`${env.proxy.url}/healthz`)).json()), version: 'x' },
    { status: 'ok', mode: 'sandbox', provider: 'ycloud', version: 'x' },
  );
  await page.screenshot({ path: join(screenshotDir, 'sandbox-ready.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
