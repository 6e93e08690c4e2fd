// Starts the real proxy binary on a free loopback port and Debian's Chromium through
// playwright-core. Every test gets a fresh database under a temporary directory.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const here = new URL('.', import.meta.url).pathname;
export const repoRoot = resolve(here, '../..');
// Screenshots go to target/screenshots/, so a run leaves the tree as it found it; with
// UPDATE_SCREENSHOTS=1 they replace the copies docs/screenshots/ holds (and the README shows).
export const screenshotDir = join(
  repoRoot,
  process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'target/screenshots',
);
mkdirSync(screenshotDir, { recursive: true });

export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitHealthy(url, child, deadlineMs = 15000) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`proxy exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`proxy not healthy at ${url} within ${deadlineMs} ms`);
}

/**
 * Starts the proxy; `env` adds to (and overrides) its environment. Without a
 * `YCLOUD_API_KEY` in `env` it runs in sandbox mode (`SANDBOX=true`: the proxy refuses to
 * start without a key otherwise). `opts.port` and `opts.dir` restart a proxy on the same
 * address and database (see `stop({ keepData })`).
 */
export async function startProxy(env = {}, opts = {}) {
  const bin = process.env.PROXY_BIN ?? join(repoRoot, 'target/release/wa-signup-proxy');
  const dist = process.env.DIST_DIR ?? join(repoRoot, 'dist');
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'wa-e2e-'));
  const port = opts.port ?? await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = [];
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (/^(YCLOUD_|FB_|GRAPH_|DATABASE_URL|ALLOWED_ORIGINS|SANDBOX|ALLOW_UNVERIFIED_ONBOARDINGS|ALLOW_ANONYMOUS_ONBOARDINGS|PARTNER_|PUBLIC_URL|WHATSAPP_PROVIDER|TOKEN_ENCRYPTION_KEY|META_)/.test(k)) delete clean[k];
  const mode = env.YCLOUD_API_KEY ? {} : { SANDBOX: 'true' };
  const child = spawn(bin, [], {
    cwd: dir,
    env: { ...clean, ADDR: `127.0.0.1:${port}`, DIST_DIR: dist, DATABASE_URL: `sqlite://${dir}/e2e.db`, RUST_LOG: 'info', ...mode, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => log.push(d.toString()));
  child.stderr.on('data', (d) => log.push(d.toString()));
  try {
    await waitHealthy(url, child);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${log.join('')}`);
  }
  return {
    url,
    port,
    dir,
    log,
    /** Stops the proxy; `keepData` keeps its database for a restart. */
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with every background connection off (no network here). */
export function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', ...extraArgs,
    ],
  });
}

/**
 * A sandbox-mode proxy and a browser shared by the tests of one file, started before them
 * and stopped after them; the returned object's `proxy` and `browser` are set once started.
 */
export function sandboxPerFile(before, after) {
  const shared = { proxy: null, browser: null };
  before(async () => {
    shared.proxy = await startProxy();
    shared.browser = await launchBrowser();
  });
  after(async () => {
    await shared.browser?.close();
    await shared.proxy?.stop();
  });
  return shared;
}
