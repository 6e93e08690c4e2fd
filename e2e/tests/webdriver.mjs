// A small W3C WebDriver client over fetch, enough for the smoke test in Firefox
// (geckodriver) and WebKit (WebKitWebDriver): sessions, navigation, clicks, windows and
// scripts. Playwright drives only its own browser builds, so other engines go through
// their drivers.
import { spawn } from 'node:child_process';
import { freePort } from './harness.mjs';

/** How to start each engine's driver and session (Debian's packages, geckodriver from crates.io). */
export const ENGINES = {
  firefox: {
    driver: process.env.GECKODRIVER ?? 'geckodriver',
    args: (port) => [`--port=${port}`, '--host=127.0.0.1'],
    capabilities: {
      browserName: 'firefox',
      'moz:firefoxOptions': {
        binary: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
        args: ['-headless'],
        // No update checks, telemetry or other background connections: there is no network.
        prefs: {
          'app.update.enabled': false,
          'browser.shell.checkDefaultBrowser': false,
          'datareporting.policy.dataSubmissionEnabled': false,
          'toolkit.telemetry.enabled': false,
          'network.captive-portal-service.enabled': false,
          'browser.safebrowsing.malware.enabled': false,
          'browser.safebrowsing.phishing.enabled': false,
        },
      },
    },
  },
  webkit: {
    driver: process.env.WEBKIT_WEBDRIVER ?? 'WebKitWebDriver',
    args: (port) => [`--port=${port}`],
    capabilities: {
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': {
        binary: process.env.WEBKIT_MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
        args: ['--automation'],
      },
    },
  },
};

/** Starts `engine`'s driver on a free port and opens a session; `close()` ends both. */
export async function openSession(engine) {
  const spec = ENGINES[engine];
  if (engine === 'webkit' && !process.env.DISPLAY) {
    throw new Error('WebKitGTK needs a display: run under xvfb-run (cargo xtask test e2e does)');
  }
  const port = await freePort();
  const log = [];
  const driver = spawn(spec.driver, spec.args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
  driver.stdout.on('data', (d) => log.push(d.toString()));
  driver.stderr.on('data', (d) => log.push(d.toString()));
  const base = `http://127.0.0.1:${port}`;
  await pollUntil(() => `${spec.driver} ready (${log.join('')})`, async () => {
    if (driver.exitCode !== null) throw new Error(`${spec.driver} exited: ${log.join('')}`);
    try {
      return (await (await fetch(`${base}/status`)).json()).value?.ready;
    } catch {
      return false; // not listening yet
    }
  }, 20000);
  const created = await call(base, 'POST', '/session', { capabilities: { alwaysMatch: spec.capabilities } });
  return new Session(base, created.sessionId, driver, log);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Asks `probe` every 100 ms until it answers something truthy, and returns that; fails
 * after `timeout` ms saying `what()` waited for (a throw from `probe` fails at once).
 */
async function pollUntil(what, probe, timeout) {
  const end = Date.now() + timeout;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await sleep(100);
  }
}

async function call(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.value)}`);
  return json.value;
}

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

class Session {
  constructor(base, id, driver, log) {
    Object.assign(this, { base, id, driver, log });
  }

  call(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  go(url) { return this.call('POST', '/url', { url }); }

  /** Runs `script` (a function body) in the page with `args`; returns its value. */
  run(script, ...args) { return this.call('POST', '/execute/sync', { script, args }); }

  /** Polls `script` until it returns something truthy; fails after `timeout` ms saying `what`. */
  until(what, script, args = [], timeout = 20000) {
    let last;
    return pollUntil(() => `${what} (last: ${JSON.stringify(last)})`, async () => {
      try {
        last = await this.run(script, ...args);
        return last;
      } catch (e) {
        last = e.message;
        return false;
      }
    }, timeout);
  }

  /** The first element matching `css`, waiting for it. */
  async element(css, timeout = 20000) {
    await this.until(`an element ${css}`, 'return !!document.querySelector(arguments[0])', [css], timeout);
    const found = await this.call('POST', '/element', { using: 'css selector', value: css });
    return found[ELEMENT];
  }

  /** A real click (a user gesture, so the page may open a popup). */
  async click(css) {
    const id = await this.element(css);
    return this.call('POST', `/element/${id}/click`, {});
  }

  windows() { return this.call('GET', '/window/handles'); }
  window() { return this.call('GET', '/window'); }
  switchTo(handle) { return this.call('POST', '/window', { handle }); }

  /** Waits for a window other than `known` to open; returns its handle. */
  newWindow(known, timeout = 15000) {
    return pollUntil(
      () => 'a popup window to open',
      async () => (await this.windows()).find((h) => !known.includes(h)),
      timeout,
    );
  }

  async close() {
    try { await call(this.base, 'DELETE', `/session/${this.id}`); } catch { /* already gone */ }
    if (this.driver.exitCode === null) {
      const exited = new Promise((r) => this.driver.once('exit', r));
      this.driver.kill('SIGTERM');
      await exited;
    }
  }
}
