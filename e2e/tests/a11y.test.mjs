// Accessibility of every state of the standalone page, in the sandbox: axe-core's WCAG 2.1
// A/AA rules with zero violations, keyboard-only use, and the status region's semantics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sandboxPerFile } from './harness.mjs';
import { axeViolations, throughPopup, waitForState } from './sandbox-flow.mjs';

const env = sandboxPerFile(before, after);

async function freshPage() {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(env.proxy.url);
  await waitForState(page, 'ready');
  return page;
}

async function assertAccessible(page, state) {
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `axe violations in state ${state}`);
}

test('ready, in-popup and cancelled states have no axe violations', async () => {
  const page = await freshPage();
  await assertAccessible(page, 'ready');
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByTestId('launch-standard').click()]);
  await waitForState(page, 'in-popup');
  await assertAccessible(page, 'in-popup');
  await popup.waitForLoadState('domcontentloaded');
  await popup.selectOption('#step', 'PHONE_NUMBER_VERIFICATION');
  await popup.getByTestId('sandbox-cancel').click();
  await waitForState(page, 'cancelled');
  await assertAccessible(page, 'cancelled');
  await page.context().close();
});

test('pending and connected states have no axe violations', async () => {
  const page = await freshPage();
  await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
  await waitForState(page, 'pending');
  await assertAccessible(page, 'pending');
  await waitForState(page, 'connected');
  await assertAccessible(page, 'connected');
  await page.context().close();
});

test('failed (reported error) and action-required states have no axe violations', async () => {
  let page = await freshPage();
  await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-error').click());
  await waitForState(page, 'failed');
  await assertAccessible(page, 'failed');
  await page.context().close();

  page = await freshPage();
  await throughPopup(page, 'launch-standard', async (p) => {
    await p.fill('#waba', '100000000000402');
    await p.getByTestId('sandbox-finish').click();
  });
  await waitForState(page, 'action-required');
  await assertAccessible(page, 'action-required');
  await page.context().close();
});

test('sdk-blocked state has no axe violations', async () => {
  const context = await env.browser.newContext();
  await context.route('**/sandbox/sdk.js', (route) => route.abort('blockedbyclient'));
  const page = await context.newPage();
  await page.goto(env.proxy.url);
  await waitForState(page, 'sdk-blocked');
  await assertAccessible(page, 'sdk-blocked');
  await context.close();
});

test('keyboard only: Tab reaches the language switch and the launch buttons, focus is visible, Enter launches', async () => {
  const page = await freshPage();
  const seen = [];
  for (let i = 0; i < 6; i += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { tag: el.tagName, testid: el.getAttribute('data-testid'), outline: style.outlineStyle, width: style.outlineWidth };
    });
    seen.push(focused);
    if (focused.testid === 'launch-standard') break;
  }
  assert.deepEqual(seen.map((f) => f.testid), ['locale', 'launch-standard']);
  const button = seen.at(-1);
  assert.equal(button.tag, 'BUTTON');
  assert.notEqual(button.outline, 'none', 'focus is visible');
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.keyboard.press('Enter')]);
  await waitForState(page, 'in-popup');
  await popup.close();
  await page.context().close();
});

test('the status region is a polite live region and states are not told by colour alone', async () => {
  const page = await freshPage();
  const status = page.getByTestId('status');
  assert.equal(await status.getAttribute('aria-live'), 'polite');
  assert.equal(await status.getAttribute('role'), 'status');
  assert.ok((await status.innerText()).trim().length > 0, 'every state has a sentence');
  await throughPopup(page, 'launch-standard', (p) => p.getByTestId('sandbox-finish').click());
  await waitForState(page, 'connected');
  // Each step carries its state in words beside the mark.
  const words = await page.locator('.wa-step-word').allInnerTexts();
  assert.ok(words.length >= 3 && words.every((w) => w.includes('done')), JSON.stringify(words));
  await page.context().close();
});
