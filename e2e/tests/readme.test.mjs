// The README's partner quick start, as a partner pastes it: the fenced blocks are taken from
// README.md by the `<!-- snippet: NAME -->` comment before each (invisible on GitHub, and
// stable when the text around them moves), and run as written. Only what cannot run here is
// stood in for, each in one place below: the ports (a free one instead of 3000 and 8080),
// `cargo xtask serve` (the release proxy binary this suite already tests, started with the
// environment the README's command gives it), and `npm install standardwebhooks` (the e2e
// package's copy of it; the tests do not reach a registry). A sign-up through the session's
// hosted link then ends with the README's receiver, Node's or Python's, verifying
// `onboarding.connected`; a forged delivery gets 400.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, launchBrowser, repoRoot } from './harness.mjs';
import { throughPopup, waitForState } from './sandbox-flow.mjs';

const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The fenced block right after `<!-- snippet: name -->`; there must be exactly one. */
function snippet(name, lang) {
  const marker = `<!-- snippet: ${name} -->\n`;
  assert.equal(README.split(marker).length, 2, `README.md has exactly one ${marker.trim()}`);
  const rest = README.split(marker)[1];
  const m = rest.match(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\`\\n`));
  assert.ok(m, `a \`\`\`${lang} block follows ${marker.trim()}`);
  return m[1];
}

/** `text` with `from` replaced by `to`, where `from` occurs exactly `times` times. */
function substitute(text, from, to, times) {
  assert.equal(text.split(from).length - 1, times, `${JSON.stringify(from)} occurs ${times} times`);
  return text.split(from).join(to);
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

const PROXY_BIN = process.env.PROXY_BIN ?? join(repoRoot, 'target/release/wa-signup-proxy');
const DIST_DIR = process.env.DIST_DIR ?? join(repoRoot, 'dist');
const PYTHON = process.env.EXAMPLES_PYTHON ?? join(repoRoot, 'target/examples-venv/bin/python');

/**
 * Commands on PATH in place of the two the quick start cannot run here. `cargo xtask serve`
 * builds the bundle and starts the proxy (in sandbox mode without a YCloud key) on
 * 127.0.0.1:8080 from the repository; this starts the built proxy the same way on the port
 * the test chose, in a directory of its own, with the environment the README's command set
 * (kept in proxy.env for the test to read).
 */
function standIns(dir) {
  const bin = join(dir, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'cargo'), `#!/bin/sh
[ "$*" = "xtask serve" ] || { echo "the quick start runs only cargo xtask serve, not: cargo $*" >&2; exit 2; }
[ -z "$YCLOUD_API_KEY" ] && set -- --sandbox
cd "$E2E_PROXY_DIR" && env >proxy.env && exec env ADDR="$E2E_PROXY_ADDR" DIST_DIR="$E2E_DIST_DIR" "$E2E_PROXY_BIN" "$@" >proxy.log 2>&1
`);
  writeFileSync(join(bin, 'npm'), `#!/bin/sh
[ "$*" = "install standardwebhooks" ] || { echo "the quick start runs only npm install standardwebhooks, not: npm $*" >&2; exit 2; }
exec ln -sfn "$E2E_NODE_MODULES" node_modules
`);
  chmodSync(join(bin, 'cargo'), 0o755);
  chmodSync(join(bin, 'npm'), 0o755);
  return bin;
}

/**
 * Runs the quick start block in bash from a fresh directory holding the README's receivers
 * (`receiver.mjs`, `receiver.py`). `receiver` picks the one step 2 starts: `node` as written,
 * or `python`, the README's other receiver in its place. Resolves once the block's last
 * command, the session request, has answered, with that answer and the receiver's output.
 */
async function runQuickStart(receiver) {
  const dir = mkdtempSync(join(tmpdir(), 'wa-readme-'));
  const [receiverPort, proxyPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'receiver.mjs'), snippet('receiver.mjs', 'js'));
  writeFileSync(join(dir, 'receiver.py'), snippet('receiver.py', 'python'));
  let script = snippet('quick-start', 'sh');
  script = substitute(script, '127.0.0.1:3000', `127.0.0.1:${receiverPort}`, 1);
  script = substitute(script, '127.0.0.1:8080', `127.0.0.1:${proxyPort}`, 2);
  if (receiver === 'python') {
    script = substitute(script, 'npm install standardwebhooks && node receiver.mjs &', `"${PYTHON}" receiver.py &`, 1);
  }
  // The environment of a partner's terminal: none of the proxy's variables already set.
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(YCLOUD_|FB_|GRAPH_|DATABASE_URL|ALLOWED_ORIGINS|SANDBOX|ALLOW_|PARTNER_|PUBLIC_URL|WHATSAPP_PROVIDER|TOKEN_ENCRYPTION_KEY|META_|ADDR$|PORT$)/.test(k)) delete env[k];
  Object.assign(env, {
    PATH: `${standIns(dir)}:${dirname(process.execPath)}:${env.PATH}`,
    // The receivers listen on PORT when it is set (3000 otherwise).
    PORT: String(receiverPort),
    E2E_PROXY_DIR: dir, E2E_PROXY_ADDR: `127.0.0.1:${proxyPort}`, E2E_PROXY_BIN: PROXY_BIN, E2E_DIST_DIR: DIST_DIR,
    E2E_NODE_MODULES: join(repoRoot, 'e2e/node_modules'),
  });
  // Its own process group: the block leaves the receiver and the proxy running in the
  // background, and stopping the group stops them all.
  const shell = spawn('bash', ['-c', script], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  shell.stdout.on('data', (d) => { out += d.toString(); });
  shell.stderr.on('data', (d) => { err += d.toString(); });
  const logs = () => {
    let proxyLog = '';
    try { proxyLog = readFileSync(join(dir, 'proxy.log'), 'utf8'); } catch { /* not started */ }
    return `stdout:\n${out}\nstderr:\n${err}\nproxy:\n${proxyLog}`;
  };
  const stop = () => {
    try { process.kill(-shell.pid, 'SIGTERM'); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // curl -s prints the answer without a newline; nothing else writes to stdout before
    // the sign-up (the receiver prints deliveries, and none is made before one).
    await eventually(() => shell.exitCode !== null, 'the quick start to run to its end', 60000, logs);
    assert.equal(shell.exitCode, 0, logs());
    const session = await eventually(() => { try { return JSON.parse(out); } catch { return null; } }, 'the session answer', 5000, logs);
    out = '';
    const proxyEnv = Object.fromEntries(readFileSync(join(dir, 'proxy.env'), 'utf8').split('\n')
      .filter((l) => l.startsWith('PARTNER_') || l.startsWith('SANDBOX=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const lines = () => out.split('\n').filter(Boolean);
    return { session, proxyEnv, lines, logs, stop, receiverUrl: `http://127.0.0.1:${receiverPort}/`, proxyUrl: `http://127.0.0.1:${proxyPort}` };
  } catch (e) {
    stop();
    throw e;
  }
}

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

for (const receiver of ['node', 'python']) {
  test(`the README's quick start with its ${receiver} receiver: a sign-up through the session's link, onboarding.connected verified, a forged delivery refused`, async () => {
    const run = await runQuickStart(receiver);
    const page = await browser.newPage();
    try {
      // Step 1's keys reached the proxy, as the README says they are.
      assert.equal(run.proxyEnv.SANDBOX, 'true');
      assert.match(run.proxyEnv.PARTNER_API_KEYS, /^[0-9a-f]{64}$/);
      assert.match(run.proxyEnv.PARTNER_WEBHOOK_SECRET, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(run.proxyEnv.PARTNER_WEBHOOK_URL, run.receiverUrl);
      assert.match(run.session.token, /^ses_/);
      assert.ok(run.session.url.startsWith(`${run.proxyUrl}/?session=ses_`), run.session.url);
      assert.equal(run.session.customer_ref, 'customer-1');
      // Step 5: open the link, "Connect a new number", "Finish" in the stand-in popup.
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(run.session.url);
      await waitForState(page, 'ready');
      await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
      await waitForState(page, 'connected');
      // "The receiver prints onboarding.created, then onboarding.pending and
      // onboarding.connected for customer-1."
      await eventually(() => run.lines().includes('onboarding.connected customer-1 connected'),
        'the receiver to verify onboarding.connected', 20000, run.logs);
      const order = ['onboarding.created', 'onboarding.pending', 'onboarding.connected']
        .map((type) => run.lines().findIndex((l) => l.startsWith(`${type} customer-1 `)));
      assert.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1])), run.logs());
      assert.deepEqual(errors, []);

      // A delivery whose signature was not made with the secret: 400, and nothing handled.
      const before = run.lines().length;
      const forged = await fetch(run.receiverUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': 'evt_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` },
        body: JSON.stringify({ id: 'evt_forged', type: 'onboarding.connected', data: { customer_ref: 'customer-1', state: 'connected' } }),
      });
      assert.equal(forged.status, 400);
      assert.equal(run.lines().slice(before).filter((l) => l.startsWith('onboarding.')).length, 0, run.logs());
    } finally {
      await page.close();
      run.stop();
    }
  });
}

test("the README's session request under \"Step by step\" answers as its comment says", async () => {
  const run = await runQuickStart('node');
  try {
    const request = snippet('create-session', 'sh');
    const [command, answer] = request.split('\n# 201 ');
    assert.ok(answer, 'the block ends with the answer it documents');
    const curl = spawnSync('bash', ['-c', `${substitute(command, 'https://YOUR-PROXY', run.proxyUrl, 1)} -w '\\n%{http_code}'`], {
      env: { ...process.env, PARTNER_API_KEY: run.proxyEnv.PARTNER_API_KEYS }, encoding: 'utf8',
    });
    const [body, status] = curl.stdout.trimEnd().split(/\n(?=\d+$)/);
    assert.equal(status, '201', `${curl.stdout}\n${curl.stderr}`);
    const session = JSON.parse(body);
    // Every field the comment shows, with the shape it shows.
    for (const field of answer.match(/"(\w+)":/g).map((f) => f.slice(1, -2))) assert.ok(field in session, field);
    assert.match(session.token, /^ses_/);
    assert.ok(session.url.startsWith(`${run.proxyUrl}/?session=${session.token}`), session.url);
    assert.deepEqual(session.modes, ['standard', 'coexistence']);
    assert.equal(session.locale, 'en');
  } finally {
    run.stop();
  }
});
