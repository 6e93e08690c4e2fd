// Starts the proxy crate's `fake-ycloud` binary, the sandbox's fake YCloud over HTTP, for
// the live-mode tests. What it answers (the five calls the proxy makes, the special WABA
// ids, the switches) is documented once, in proxy/src/sandbox.rs.
//
// The binary is FAKE_YCLOUD_BIN, or `fake-ycloud` beside PROXY_BIN (`cargo build --release
// -p proxy` builds both), or target/release/fake-ycloud.
//
// Run it alone, e.g. to click through a live-mode proxy by hand:
//   target/release/fake-ycloud 0 --api-key e2e-test-key
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const FAKE_API_KEY = 'e2e-test-key';

const repoRoot = resolve(new URL('.', import.meta.url).pathname, '..');

function binary() {
  if (process.env.FAKE_YCLOUD_BIN) return process.env.FAKE_YCLOUD_BIN;
  if (process.env.PROXY_BIN) return join(dirname(process.env.PROXY_BIN), 'fake-ycloud');
  return join(repoRoot, 'target/release/fake-ycloud');
}

/** The first line the binary prints: the port it listens on. */
function portOf(child, log) {
  return new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => fail(new Error(`fake-ycloud printed no port within 10 s\n${log.join('')}`)), 10000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const port = Number(line.trim());
      if (Number.isInteger(port) && port > 0) ok(port);
      else fail(new Error(`fake-ycloud's first line is not a port: ${line}`));
    });
    child.once('error', (e) => { clearTimeout(timer); fail(e); });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`fake-ycloud exited with ${code}\n${log.join('')}`));
    });
  });
}

/**
 * Starts the fake on 127.0.0.1 (`port` 0: a free one). Returns
 * `{ url, baseUrl, apiKey, calls(), callsTo(re, method), set(switches), close() }`;
 * `baseUrl` ends in `/v2` (what `YCLOUD_BASE_URL` takes); `calls()` resolves to
 * `{method, path, at}` of every call received; `set({ paymentMissing, holdPending })`
 * flips the fake's switches (a key left out keeps its value).
 */
export async function startFakeYCloud({ port = 0, apiKey = FAKE_API_KEY, connectAfterMs } = {}) {
  const args = [String(port), '--api-key', apiKey];
  if (connectAfterMs !== undefined) args.push('--connect-after-ms', String(connectAfterMs));
  const log = [];
  const child = spawn(binary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (d) => log.push(d.toString()));
  let bound;
  try {
    bound = await portOf(child, log);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  child.removeAllListeners('exit');
  const url = `http://127.0.0.1:${bound}`;
  const json = async (path, init) => {
    const res = await fetch(`${url}${path}`, init);
    if (!res.ok) throw new Error(`fake-ycloud ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    apiKey,
    url,
    baseUrl: `${url}/v2`,
    log,
    /** Every call received, oldest first. */
    calls: () => json('/__calls'),
    /** Calls whose path matches `re` (and method, when given). */
    async callsTo(re, method) {
      return (await this.calls()).filter((c) => re.test(c.path) && (!method || c.method === method));
    },
    /** Sets `paymentMissing` and/or `holdPending`; resolves to both switches. */
    set: (switches) => json('/__control', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(switches),
    }),
    close: () => new Promise((ok) => {
      if (child.exitCode !== null || child.signalCode !== null) return ok();
      child.once('exit', () => ok());
      child.kill('SIGTERM');
    }),
  };
}
