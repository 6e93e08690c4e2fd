// The integration examples (examples/node, examples/python) as a partner runs them, against
// a sandbox proxy: each example's server creates the session with the partner API and
// renders its page; a sign-up through that page reaches connected; the example receives
// onboarding.connected and verifies it with the standardwebhooks package of its language,
// and refuses a forged delivery.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, launchBrowser, repoRoot, startProxy } from './harness.mjs';
import { throughPopup, waitForState } from './sandbox-flow.mjs';

const PARTNER_KEY = `pk_test_${randomBytes(24).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

const EXAMPLES = [
  { name: 'node', program: process.execPath, args: ['server.mjs'], dir: join(repoRoot, 'examples/node') },
  // The virtual environment xtask prepares with examples/python/requirements.txt.
  { name: 'python', program: process.env.EXAMPLES_PYTHON ?? join(repoRoot, 'target/examples-venv/bin/python'), args: ['server.py'], dir: join(repoRoot, 'examples/python') },
];

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** Starts an example on `port`; resolves once it says where it listens. */
function startExample(example, port, proxyUrl) {
  const lines = [];
  const child = spawn(example.program, example.args, {
    cwd: example.dir,
    env: { ...process.env, PROXY_URL: proxyUrl, PARTNER_API_KEY: PARTNER_KEY, PARTNER_WEBHOOK_SECRET: WEBHOOK_SECRET, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (d) => lines.push(...d.toString().split('\n').filter(Boolean));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const stop = () => new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', r);
    child.kill('SIGTERM');
  });
  return eventually(() => lines.some((l) => l.startsWith('example listening on')), `the ${example.name} example to listen`, 15000, () => lines.join('\n'))
    .then(() => ({ lines, stop }));
}

/** Waits until `find()` returns something truthy, polling; fails after `timeout` ms. */
async function eventually(find, what, timeout = 20000, context = () => '') {
  const until = Date.now() + timeout;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const example of EXAMPLES) {
  test(`the ${example.name} example: a sign-up through its page connects and its server verifies onboarding.connected`, async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const proxy = await startProxy({
      PARTNER_API_KEYS: PARTNER_KEY, PARTNER_WEBHOOK_URL: `${origin}/webhooks`, PARTNER_WEBHOOK_SECRET: WEBHOOK_SECRET, ALLOWED_ORIGINS: origin,
    });
    const server = await startExample(example, port, proxy.url).catch(async (e) => { await proxy.stop(); throw e; });
    const page = await browser.newPage();
    try {
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(origin);
      await waitForState(page, 'ready');
      await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
      await waitForState(page, 'connected');
      const verified = await eventually(
        () => server.lines.find((l) => l.startsWith('webhook verified: onboarding.connected')),
        'onboarding.connected at the example', 20000, () => server.lines.join('\n'),
      );
      const customerRef = await page.locator('#server-status').getAttribute('data-customer-ref');
      assert.match(verified, new RegExp(`customer_ref=${customerRef}$`));
      // The page shows what the server learned from the webhook, not what the browser said.
      await page.locator('#server-status', { hasText: 'connected' }).waitFor({ timeout: 10000 });
      assert.ok(server.lines.some((l) => l.startsWith('webhook verified: onboarding.created')));
      // A delivery without a valid signature is refused.
      const forged = await fetch(`${origin}/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': 'evt_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` },
        body: JSON.stringify({ id: 'evt_forged', type: 'onboarding.connected', data: { customer_ref: customerRef, state: 'connected' } }),
      });
      assert.equal(forged.status, 400);
      await eventually(() => server.lines.some((l) => l.startsWith('webhook refused')), 'the forged delivery to be refused');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      await server.stop();
      await proxy.stop();
    }
  });
}
