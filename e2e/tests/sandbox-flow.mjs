// Drives the sandbox: the proxy's stand-in SDK opens its popup page on the proxy's own
// origin, where a test clicks what Meta would report.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const axeSource = readFileSync(axePath, 'utf8');

/** Clicks a launch button, then `choose(popup)` in the sandbox popup; the popup closes itself. */
export async function throughPopup(page, launchTestId, choose) {
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    page.getByTestId(launchTestId).click(),
  ]);
  await popup.waitForLoadState('domcontentloaded');
  // Listened for before the click: on a loaded machine the popup can close (50 ms after it
  // posts) before the click's promise resolves, and a close event already gone was then
  // waited for in vain for 10 s, long enough to miss a state such as pending.
  const closed = new Promise((resolve) => popup.once('close', resolve));
  await choose(popup);
  let timer;
  await Promise.race([closed, new Promise((resolve) => { timer = setTimeout(resolve, 10000); })]);
  clearTimeout(timer);
}

/** Waits until the status region (the first one on the page, or under `root`) shows `state`. */
export async function waitForState(page, state, root = page, timeout = 20000) {
  await root.locator('[data-testid="status"]').first().and(root.locator(`[data-state="${state}"]`).first())
    .waitFor({ timeout });
}

/**
 * Runs axe-core's WCAG 2.1 A/AA rules and its best practices (one level-one heading, landmarks,
 * heading order...) on the page; returns a readable list of violations.
 */
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol: the pages' Content-Security-Policy rightly
  // refuses an injected inline <script>, and the audit must not need the policy loosened.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
