// The one file partners load to embed the widget (see the README):
//   <div data-wa-signup data-customer-ref="..."></div>
//   <script type="module" src="https://YOUR-PROXY/embed.js"></script>
// It loads the widget's styles and WebAssembly from the same place as itself, mounts a
// widget on every [data-wa-signup] element, and exposes window.WaSignup.{mount, autoMount}.
// The build writes the content-hashed names of this build's files over the three quoted
// names below (Trunk.toml's hook), so they can be cached for good while this file keeps its name.
const base = new URL('.', import.meta.url);
if (window.__WA_SIGNUP_BASE === undefined) {
  window.__WA_SIGNUP_BASE = base.href.replace(/\/$/, '');
}
if (!document.querySelector('link[data-wa-signup-style]')) {
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = new URL('widget.css', base).href;
  link.setAttribute('data-wa-signup-style', '');
  document.head.append(link);
}
const bundle = await import(new URL('wa-signup.js', base).href);
// Initialising runs the bundle's entry point, which auto-mounts.
await bundle.default({ module_or_path: new URL('wa-signup_bg.wasm', base).href });
window.WaSignup = { mount: bundle.mount, autoMount: bundle.autoMount };
document.dispatchEvent(new CustomEvent('wa-signup:ready'));
