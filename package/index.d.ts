// Types of the WhatsApp Embedded Signup widget: `mount`, `autoMount`, their options, the
// handle, and the `wa-signup:*` events with their `detail`. The widget is Rust compiled to
// WebAssembly; a test of the kit compares these declarations with its Rust types, so a
// name added or renamed there fails the build until it is declared here.

/** The flows a widget offers: one of the two, or both (the default). */
export type WaSignupMode = 'standard' | 'coexistence' | 'both';

/** The languages the widget speaks. */
export type WaSignupLocale = 'en' | 'zh-Hans' | 'zh-Hant' | 'vi';

/** The Embedded Signup version the launch button asks Meta for. */
export type WaSignupEsVersion = 'v4' | 'v4-public-preview';

/**
 * Options of `mount(element, options)`. Every value is a string; a bad value is refused
 * with an `Error` naming the option. On `[data-wa-signup]` elements the same options are
 * `data-*` attributes (`data-customer-ref`), except `proxyUrl` and `sdkUrl`, which only
 * `mount` accepts.
 */
export interface WaSignupOptions {
  /** Where the proxy runs, e.g. `https://signup.example.com`; default: where the widget's files came from. */
  proxyUrl?: string;
  /** The token of `POST /api/partner/sessions` (`ses_…`). */
  session?: string;
  /** Which launch buttons to show (narrowing the session's `modes`). */
  mode?: WaSignupMode;
  /** Meta app id; default from `{proxyUrl}/api/config`. */
  appId?: string;
  /** Embedded Signup configuration id; default from the proxy. */
  configId?: string;
  /** YCloud's solution id; default from the proxy. */
  solutionId?: string;
  /** Graph API version, e.g. `v26.0`; default from the proxy. */
  graphVersion?: string;
  /** Embedded Signup version; default from the proxy. */
  esVersion?: WaSignupEsVersion;
  /** Where to load the Facebook SDK from; default from the proxy. */
  sdkUrl?: string;
  /** The language; default: the session's, else the browser's. An unknown one falls back. */
  locale?: WaSignupLocale | (string & {});
  /** Your reference for the customer (1–128 characters); with a session, the session's wins. */
  customerRef?: string;
  /** The level of the widget's title, 1 to 6 (a number or its digit); default 2. */
  headingLevel?: 1 | 2 | 3 | 4 | 5 | 6 | `${1 | 2 | 3 | 4 | 5 | 6}`;
}

/** A mounted widget. */
export interface WaSignupHandle {
  /** Removes the widget from its element, with its listeners, timers and streams. */
  unmount(): void;
  /** Releases the handle's WebAssembly memory (after `unmount`). */
  free(): void;
}

/** Mounts a widget in `element`; throws an `Error` naming a bad option, or when the element already holds one. */
export declare function mount(element: Element, options?: WaSignupOptions): WaSignupHandle;

/** What `autoMount` allows markup to choose. */
export interface WaSignupAutoMountOptions {
  /** Let `data-session` choose the session; without it an element carrying one stays unmounted. */
  sessionFromMarkup?: boolean;
}

/** Mounts a widget on every `[data-wa-signup]` element not holding one yet; returns how many. */
export declare function autoMount(options?: WaSignupAutoMountOptions): number;

/** What `embed.js` puts on `window.WaSignup`, and this module's default export. */
export interface WaSignupApi {
  mount: typeof mount;
  autoMount: typeof autoMount;
}
declare const WaSignup: WaSignupApi;
export default WaSignup;

/** In sandbox mode every detail carries `sandbox: true`; outside it there is no such field. */
export interface WaSignupSandboxMark {
  sandbox?: true;
}

/** What kind of finish Meta reported. */
export type WaSignupFinishKind =
  | 'finish'
  | 'only_waba'
  | 'whatsapp_business_app_onboarding'
  | 'wa_login_user'
  | 'obo_migration'
  | 'grant_only_api_access'
  | 'unknown';

/** `wa-signup:finish`: the popup finished with these ids (the proxy takes it from here). */
export interface WaSignupFinishDetail extends WaSignupSandboxMark {
  /** Meta's event name, e.g. `FINISH` or `FINISH_ONLY_WABA`. */
  event: string;
  kind: WaSignupFinishKind;
  waba_id: string;
  phone_number_id?: string;
  business_id?: string;
}

/** `wa-signup:cancel`: the customer closed the popup. */
export interface WaSignupCancelDetail extends WaSignupSandboxMark {
  /** Meta's name of the step they left at, e.g. `PHONE_NUMBER_SETUP`, when reported. */
  current_step: string | null;
}

/** `wa-signup:error`: something failed; the widget shows it to the customer too. */
export interface WaSignupErrorDetail extends WaSignupSandboxMark {
  /** A stable snake_case code: the proxy's, Meta's, or the widget's own. */
  code: string;
  /** A sentence, when one came with the error (may be empty). */
  message: string;
}

/**
 * Where an onboarding stands. (`received` and `verifying`, named in early descriptions of the
 * API, are reserved: no onboarding is ever in them.)
 */
export type WaSignupOnboardingState =
  | 'binding'
  | 'registering'
  | 'pending'
  | 'connected'
  | 'action_required'
  | 'failed'
  | 'deregistered'
  | 'disconnected';

/** A step of the proxy's pipeline (`unknown`: one this version does not know). */
export type WaSignupStepName =
  | 'bind'
  | 'check_payment'
  | 'register'
  | 'smb_bind'
  | 'subscribe_app'
  | 'sync_contacts'
  | 'sync_history'
  | 'deregister'
  | 'awaiting_display_name'
  | 'unknown';

/** How far a step got. */
export type WaSignupStepState = 'started' | 'done' | 'failed';

/** One of the WABA's numbers, offered when Meta did not say which one was meant. */
export interface WaSignupNumberCandidate {
  id: string;
  display_phone_number?: string;
  is_on_biz_app?: boolean;
}

/** What went wrong in a step. */
export interface WaSignupOnboardingError {
  code: string;
  message: string;
  retryable: boolean;
  upstream_request_id?: string;
  retry_after?: string;
  /** `phone_number_ambiguous`: the numbers the customer may have meant. */
  candidates?: WaSignupNumberCandidate[];
}

/** One step of an onboarding. */
export interface WaSignupOnboardingStep {
  name: WaSignupStepName;
  state: WaSignupStepState;
  started_at: string;
  finished_at?: string;
  error?: WaSignupOnboardingError;
}

/** The WhatsApp Business Account, as far as the browser may know it. */
export interface WaSignupWabaSummary {
  name?: string;
  account_review_status?: string;
  payment_method_attached?: boolean;
}

/** The phone number, as far as the browser may know it. */
export interface WaSignupPhoneNumberSummary {
  display_phone_number?: string;
  verified_name?: string;
  status?: string;
  quality_rating?: string;
}

/** Where one part of a coexistence sync stands. */
export type WaSignupSyncState = 'requested' | 'in_progress' | 'done' | 'declined' | 'failed';

/** One part of a coexistence sync: the contacts or the chat history. */
export interface WaSignupSyncPart {
  state: WaSignupSyncState;
  /** History: Meta's overall progress, 0–100. */
  progress?: number;
  /** History: 0 the last day, 1 days 1–90, 2 days 90–180. */
  phase?: number;
  /** Meta's id of the sync request. */
  request_id?: string;
  /** Why it is `failed` or `declined`. */
  reason?: string;
}

/** A coexistence onboarding's sync of the WhatsApp Business app's data (Meta's provider). */
export interface WaSignupCoexistenceSync {
  contacts: WaSignupSyncPart;
  history: WaSignupSyncPart;
}

/** The onboarding, as `GET /api/onboardings/{id}` answers it. */
export interface WaSignupOnboarding {
  id: string;
  /** The flow Meta reported, which decides the path. */
  mode: 'standard' | 'coexistence';
  /** The button the customer clicked, when it differs from `mode`. */
  launched_mode?: 'standard' | 'coexistence';
  waba_id: string;
  phone_number_id?: string;
  business_id?: string;
  customer_ref?: string;
  state: WaSignupOnboardingState;
  steps: WaSignupOnboardingStep[];
  waba?: WaSignupWabaSummary;
  phone_number?: WaSignupPhoneNumberSummary;
  error?: WaSignupOnboardingError;
  /** The onboarding this one started over from (same WABA and number). */
  previous_onboarding_id?: string;
  /** RFC 3339: when the number was first seen receiving a message. */
  inbound_verified_at?: string;
  /** Coexistence: where the sync of the app's contacts and chat history stands. */
  sync?: WaSignupCoexistenceSync;
  created_at: string;
  updated_at: string;
}

/** `wa-signup:onboarding` (at every change) and `wa-signup:connected`. */
export type WaSignupOnboardingDetail = WaSignupOnboarding & WaSignupSandboxMark;

/**
 * The events a widget's root dispatches (they bubble): for the page's interface only. Your
 * server learns results from the proxy's signed webhooks.
 */
export interface WaSignupEventMap {
  'wa-signup:finish': CustomEvent<WaSignupFinishDetail>;
  'wa-signup:cancel': CustomEvent<WaSignupCancelDetail>;
  'wa-signup:error': CustomEvent<WaSignupErrorDetail>;
  'wa-signup:onboarding': CustomEvent<WaSignupOnboardingDetail>;
  'wa-signup:connected': CustomEvent<WaSignupOnboardingDetail>;
}

declare global {
  interface Window {
    /** Set by `embed.js` once the widget is ready. */
    WaSignup?: WaSignupApi;
  }
  // Typed `addEventListener('wa-signup:…')` on elements, the document and the window.
  interface HTMLElementEventMap extends WaSignupEventMap {}
  interface DocumentEventMap extends WaSignupEventMap {
    /** Dispatched on `document` once `embed.js` has set `window.WaSignup`. */
    'wa-signup:ready': CustomEvent<null>;
  }
  interface WindowEventMap extends WaSignupEventMap {}
}
