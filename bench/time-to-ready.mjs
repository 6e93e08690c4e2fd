// Time to ready in headless Chromium: navigation start -> the launch button usable.
//   node bench/time-to-ready.mjs APP_URL [RUNS]
// APP_URL: the proxy in sandbox mode serving dist/ (it also serves /sandbox/sdk.js).
// The app is ready when [data-testid=launch-standard] exists and is not disabled; YCloud's
// plain-JS page (bench/plain-js/index.html, served here with the same SDK stand-in at /sdk.js)
// is ready when its button exists and FB.init has run. Each load gets a fresh browser context
// (nothing cached); the two pages alternate so both see the same machine noise. One warm-up
// load of each is not counted. The moment is taken inside the page (performance.now(), whose
// origin is the navigation start) by a MutationObserver plus a hook on FB.init, so polling
// from outside adds nothing. Prints `RESULT <page> <stat> <ms>` lines and the raw samples.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '../e2e/node_modules/playwright-core/index.mjs';

const here = new URL('.', import.meta.url).pathname;
const appUrl = (process.argv[2] ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const runs = Number(process.argv[3] ?? 20);

const sdk = await (await fetch(`${appUrl}/sandbox/sdk.js`)).text();
if (!sdk.includes('FB')) throw new Error(`${appUrl}/sandbox/sdk.js is not the SDK stand-in (is the proxy in sandbox mode?)`);
const plainHtml = readFileSync(join(here, 'plain-js/index.html'));

const plain = createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/' || path === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(plainHtml);
  } else if (path === '/sdk.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    res.end(sdk);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => plain.listen(0, '127.0.0.1', ok));
const plainUrl = `http://127.0.0.1:${plain.address().port}`;

// Runs before any script of the page. `kind` picks the readiness condition.
function instrument(kind) {
  let fbInitRan = false;
  const ready = () => {
    if (kind === 'app') {
      const b = document.querySelector('[data-testid="launch-standard"]');
      return !!b && !b.disabled;
    }
    return fbInitRan && !!document.querySelector('button');
  };
  // Milestones on the way (ms from the navigation start), for the phases line: the wasm
  // instantiated and the app's main run (trunk's TrunkApplicationStarted), FB.init called,
  // the launch button first in the page (enabled or not).
  const marks = (window.__benchMarks = {});
  const first = (k) => { if (marks[k] === undefined) marks[k] = performance.now(); };
  addEventListener('TrunkApplicationStarted', () => first('app_started'));
  const mark = () => {
    if (kind === 'app' && document.querySelector('[data-testid="launch-standard"]')) first('button');
    if (window.__benchReady === undefined && ready()) window.__benchReady = performance.now();
  };
  let fb;
  Object.defineProperty(window, 'FB', {
    configurable: true,
    get: () => fb,
    set: (v) => {
      if (v && typeof v.init === 'function' && !v.init.__bench) {
        const init = v.init;
        v.init = function (...args) {
          const r = init.apply(this, args);
          fbInitRan = true;
          first('fb_init');
          mark();
          return r;
        };
        v.init.__bench = true;
      }
      fb = v;
    },
  });
  new MutationObserver(mark).observe(document, { subtree: true, childList: true, attributes: true });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage',
  ],
});

async function load(kind) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(instrument, kind);
    await page.goto(kind === 'app' ? `${appUrl}/` : `${plainUrl}/`, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__benchReady !== undefined, null, { timeout: 30_000, polling: 50 });
    return await page.evaluate(() => {
      // Where the time went: when each resource started and finished loading (ms from the
      // navigation start), by kind.
      const phases = { html_end: performance.getEntriesByType('navigation')[0]?.responseEnd };
      for (const e of performance.getEntriesByType('resource')) {
        const kind = e.name.endsWith('.wasm') ? 'wasm'
          : /sdk\.js/.test(e.name) ? 'sdk'
          : /\/api\/config/.test(e.name) ? 'config'
          : e.name.endsWith('.js') ? 'js' : null;
        if (kind && phases[`${kind}_start`] === undefined) {
          phases[`${kind}_start`] = e.startTime;
          phases[`${kind}_end`] = e.responseEnd;
        }
      }
      Object.assign(phases, window.__benchMarks);
      return { ready: window.__benchReady, phases };
    });
  } finally {
    await context.close();
  }
}

const samples = { app: [], plain: [] };
const phases = { app: [], plain: [] };
const record = (kind, r) => {
  samples[kind].push(r.ready);
  phases[kind].push(r.phases);
};
try {
  await load('app');
  await load('plain');
  for (let i = 0; i < runs; i++) {
    record('app', await load('app'));
    record('plain', await load('plain'));
  }
} finally {
  await browser.close();
  plain.close();
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const [page, xs] of Object.entries(samples)) {
  console.log(`RESULT ${page} median ${median(xs).toFixed(1)}`);
  console.log(`RESULT ${page} min ${Math.min(...xs).toFixed(1)}`);
  console.log(`RESULT ${page} max ${Math.max(...xs).toFixed(1)}`);
  console.log(`RESULT ${page} runs ${xs.length}`);
  console.log(`SAMPLES ${page} ${xs.map((x) => x.toFixed(1)).join(' ')}`);
  const keys = [...new Set(phases[page].flatMap((p) => Object.keys(p)))]
    .filter((k) => phases[page].every((p) => typeof p[k] === 'number'));
  const medians = keys.map((k) => [k, median(phases[page].map((p) => p[k]))]).sort((a, b) => a[1] - b[1]);
  console.log(`PHASES ${page} ${medians.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}, ready ${median(xs).toFixed(1)}`);
}
