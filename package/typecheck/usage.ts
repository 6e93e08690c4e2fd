// A partner's typed use of the package; `tsc --noEmit --strict` must accept it (the kit's
// tests run it). The `@ts-expect-error` lines must stay errors: the types are strict.
import WaSignup, { autoMount, mount, type WaSignupHandle, type WaSignupOptions } from 'wa-signup';

const element = document.createElement('div');
const options: WaSignupOptions = {
  proxyUrl: 'https://signup.example.com',
  session: 'ses_0123456789abcdef0123456789abcdef',
  mode: 'coexistence',
  locale: 'zh-Hant',
  esVersion: 'v4',
  headingLevel: '3',
  customerRef: 'customer-42',
};
const handle: WaSignupHandle = mount(element, options);
handle.unmount();
const count: number = autoMount();
WaSignup.mount(element, { mode: 'both' });
window.WaSignup?.autoMount();

// @ts-expect-error: not an option (a typo of proxyUrl)
mount(element, { proxiUrl: 'https://signup.example.com' });
// @ts-expect-error: not a mode
mount(element, { mode: 'premium' });
// @ts-expect-error: heading levels are 1 to 6
mount(element, { headingLevel: '7' });
// @ts-expect-error: heading levels are 1 to 6, as numbers too
mount(element, { headingLevel: 0 });
mount(element, { headingLevel: 3 });

element.addEventListener('wa-signup:connected', (e) => {
  const number: string | undefined = e.detail.phone_number?.display_phone_number;
  const state: 'connected' | string = e.detail.state;
  const sandbox: true | undefined = e.detail.sandbox;
  console.log(number, state, sandbox, count);
});
document.addEventListener('wa-signup:onboarding', (e) => {
  for (const step of e.detail.steps) console.log(step.name, step.state, step.error?.retryable);
});
document.addEventListener('wa-signup:error', (e) => console.log(e.detail.code, e.detail.message));
document.addEventListener('wa-signup:cancel', (e) => console.log(e.detail.current_step ?? 'unknown step'));
window.addEventListener('wa-signup:finish', (e) => console.log(e.detail.kind, e.detail.waba_id));
document.addEventListener('wa-signup:ready', () => window.WaSignup?.autoMount());
element.addEventListener('wa-signup:finish', (e) => {
  // @ts-expect-error: a finish has no onboarding state
  console.log(e.detail.state);
});
