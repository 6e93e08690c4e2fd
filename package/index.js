// The package's entry: loads the widget (embed.js and the files beside it) and re-exports
// what it puts on window.WaSignup. embed.js awaits the WebAssembly at its top level, so
// the API is there once this module has been imported.
import './embed.js';

const api = window.WaSignup;
export const mount = api.mount;
export const autoMount = api.autoMount;
export default api;
