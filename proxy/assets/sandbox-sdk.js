// Sandbox stand-in for the Facebook JS SDK (served at /sandbox/sdk.js in sandbox mode).
// It implements FB.init and FB.login like the real SDK: FB.login opens a popup where a person
// picks what Meta would report; the popup posts the same WA_EMBEDDED_SIGNUP messages to the
// opener, then tells this script the login result, which calls the login callback.
(function () {
  'use strict';
  var script = document.currentScript;
  // The popup's address: beside this script, unless the page says otherwise (tests put it
  // on a Facebook origin so the page's origin check sees a real one).
  var popupUrl = window.__WA_SANDBOX_POPUP_URL ||
    new URL('popup.html', (script && script.src) || location.href).href;
  var initialized = false;
  var pending = null; // {callback, popup, timer}

  function finish(response) {
    if (!pending) return;
    var cb = pending.callback;
    clearInterval(pending.timer);
    pending = null;
    cb(response);
  }

  window.addEventListener('message', function (event) {
    if (!pending || event.source !== pending.popup) return;
    var data = event.data;
    if (typeof data === 'string') {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || data.type !== 'SANDBOX_FB_LOGIN_RESULT') return;
    if (data.status === 'connected') {
      finish({ status: 'connected', authResponse: { code: data.code, userID: null, expiresIn: 30 } });
    } else {
      finish({ status: data.status || 'unknown', authResponse: null });
    }
  });

  window.FB = {
    init: function (options) {
      if (!options || !options.appId) throw new Error('FB.init: appId is required');
      initialized = true;
    },
    login: function (callback, options) {
      if (typeof callback !== 'function') throw new Error('FB.login: callback must be a function');
      if (!initialized) throw new Error('FB.login called before FB.init');
      var extras = (options && options.extras) || {};
      var mode = extras.featureType === 'whatsapp_business_app_onboarding' ? 'coexistence' : 'standard';
      var url = new URL(popupUrl);
      url.searchParams.set('mode', mode);
      url.searchParams.set('config_id', (options && options.config_id) || '');
      // The whole options object, so the popup can show what Meta would receive.
      url.searchParams.set('options', JSON.stringify(options || {}));
      var popup = window.open(url.href, 'wa_sandbox_signup', 'width=560,height=720');
      if (!popup) {
        // Like the real SDK when the browser blocks the popup: an unknown status at once.
        callback({ status: 'unknown', authResponse: null });
        return;
      }
      if (pending) finish({ status: 'unknown', authResponse: null });
      pending = {
        callback: callback,
        popup: popup,
        // The real SDK reports a closed popup as a login without authorization.
        timer: setInterval(function () {
          if (popup.closed) setTimeout(function () { finish({ status: 'unknown', authResponse: null }); }, 500);
        }, 250),
      };
    },
  };

  if (typeof window.fbAsyncInit === 'function') setTimeout(window.fbAsyncInit, 0);
})();
