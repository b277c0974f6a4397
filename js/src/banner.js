/*! consent_mw banner | MIT */
/*
 * Cookie-consent banner of consent_mw: a classic script, loaded with
 *   <script src="/_consent/banner.js" defer data-endpoint="/_consent"></script>
 * It reads the texts, categories and the visitor's state from the server,
 * saves choices there (the server sets the consent cookie, never this file),
 * and re-activates the elements the server neutralised once their category is
 * allowed (under an enforced CSP it reloads the page instead). Under Node (no `document`) it does nothing but export its pure
 * helpers through `module.exports`, for the unit tests.
 *
 * CSP: no eval, no string timers, no inline styles, no injected <style>; the
 * stylesheet is a separate file. Server text goes through textContent only.
 */
(function (win) {
  'use strict';

  var KEY = 'consent_mw.pending';
  var CAP = 60; // longest wait between two retries, in seconds
  var ACTIVE = 'data-consent-active';
  var PREFIX = 'data-consent-';

  function noop() {}

  function copy(o) {
    return o == null ? o : JSON.parse(JSON.stringify(o));
  }

  /* ---------------------------------------------------------------- logic */

  // First usable language among data-locale, <html lang> and the browser's
  // languages, as a lower-case primary subtag ("ko-KR" -> "ko"); '' if none.
  function pickLocale(explicit, htmlLang, navLangs) {
    var c = [explicit, htmlLang].concat(navLangs || []);
    for (var i = 0; i < c.length; i++) {
      var m = /^\s*([a-z]{2,3})(?![a-z])/i.exec(c[i] || '');
      if (m) return m[1].toLowerCase();
    }
    return '';
  }

  // POST body for a button: accept_all, reject_all, or the switches' values.
  // A category switched off with some of its services ("advertising/Meta")
  // switched on is sent service by service: {"advertising": {"Meta": true}}.
  function requestBody(action, choices, categories) {
    if (action === 'accept_all' || action === 'reject_all') return { action: action };
    var out = {};
    (categories || []).forEach(function (c) {
      var m = {};
      var on = 0;
      var p = c.id + '/';
      for (var k in choices) if (!k.indexOf(p)) on |= m[k.slice(p.length)] = !!choices[k];
      if (!c.required) out[c.id] = !!(choices && choices[c.id]) || !!on && m;
    });
    return { choices: out };
  }

  // 'ok' (2xx), 'retry' (network error = 0, 408, 429, 5xx) or 'drop' (other 4xx...).
  function classify(status) {
    if (status >= 200 && status < 300) return 'ok';
    return !status || status === 408 || status === 429 || status >= 500 ? 'retry' : 'drop';
  }

  // Milliseconds to wait before retry number `attempt` (0-based): the
  // Retry-After header's seconds when given (at least 1 s), else 1 s, 2 s,
  // 4 s ... with +/-25 % jitter; never more than CAP seconds.
  function backoff(attempt, retryAfter, random) {
    var ra = /^\s*\d+\s*$/.test(retryAfter) ? Math.max(1, +retryAfter) : 0;
    var r = random == null ? Math.random() : random;
    return Math.round(Math.min(CAP, ra || Math.pow(2, Math.min(attempt, 9)) * (0.75 + r / 2)) * 1000);
  }

  // The choice not yet acknowledged by the server: {method, body?, at}.
  function savePending(storage, op) {
    try {
      storage.setItem(KEY, JSON.stringify(op));
      return true;
    } catch (e) {
      return false;
    }
  }

  function loadPending(storage) {
    try {
      var op = JSON.parse(storage.getItem(KEY));
      if (op && (op.method === 'DELETE' ||
          (op.method === 'POST' && op.body && typeof op.body === 'object'))) return op;
      if (op !== null) storage.removeItem(KEY);
    } catch (e) {
      try {
        storage.removeItem(KEY);
      } catch (e2) { /* no storage */ }
    }
    return null;
  }

  // Removes the stored choice only if it is still `op` (another tab may have
  // stored a newer one).
  function clearPending(storage, op) {
    try {
      if (storage.getItem(KEY) === JSON.stringify(op)) storage.removeItem(KEY);
    } catch (e) { /* no storage */ }
  }

  // The state to apply on the page for a choice the server has not
  // acknowledged: `state` with the choices, allowed categories and Consent
  // Mode the choice implies, by the server's rules: a child never gets
  // advertising; with GPC, "accept all" leaves advertising off but switching
  // it on explicitly overrides the signal. A withdrawal is a recorded choice
  // with everything optional off.
  function localState(state, categories, op) {
    var s = copy(state) || {};
    var body = op.body || {};
    var choices = {};
    var allowed = [];
    var mode = {};
    var set = function (keys, value) {
      (keys || []).forEach(function (k) {
        mode[k] = value;
      });
    };
    // The server's state names all seven Consent Mode types, and each category
    // the types it grants (`consent_mode`).
    set(Object.keys(s.consent_mode || {}), 'denied');
    (categories || []).forEach(function (c) {
      var ads = c.id === 'advertising';
      var ok = op.method === 'POST' && !(ads && s.child);
      var v = ok && body.choices && body.choices[c.id];
      var on = c.required || ok && (body.action
        ? body.action === 'accept_all' && !(ads && s.gpc)
        : v === true);
      if (!c.required) choices[c.id] = on || (v || false);
      if (on) {
        allowed.push(c.id);
        set(c.consent_mode, 'granted');
      }
      // services allowed on their own (Consent Mode waits for the server)
      for (var n in v) if (v[n]) allowed.push(c.id + '/' + n);
    });
    s.personalised_ads = choices.advertising === true;
    s.choices = choices;
    s.allowed = allowed;
    s.decided = true;
    s.needs_prompt = false;
    s.consent_mode = mode;
    s.pending = true;
    return s;
  }

  // texts.change_notice with {date} filled in, the date written for `locale`.
  function changeNotice(template, change, locale) {
    if (!change || !template) return '';
    var d = String(change.effective || '');
    var m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(d);
    if (m) {
      try {
        d = new Intl.DateTimeFormat(locale || undefined, {
          year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC'
        }).format(Date.UTC(+m[1], m[2] - 1, +m[3]));
      } catch (e) { /* keep YYYY-MM-DD */ }
    }
    return template.split('{date}').join(d);
  }

  // An http(s) URL resolved against `base`, or '' (no javascript: links).
  function safeUrl(url, base) {
    try {
      var u = new URL(url, base);
      return /^https?:$/.test(u.protocol) ? u.href : '';
    } catch (e) {
      return '';
    }
  }

  // Whether the page must be reloaded for `state` to take effect. Under an
  // enforced CSP the page's policy names only the hosts of the categories
  // allowed when it was served (`served`: the first state the server sent),
  // and a page's CSP cannot widen once loaded: a wider set needs the reload
  // for the newly allowed tags to load, a narrower one for withdrawn tags to
  // stop. The same set (in any order) never reloads, so the reloaded page,
  // served under the new decision, does not loop.
  function needsReload(served, state) {
    var set = function (s) {
      return (s.allowed || []).slice().sort().join();
    };
    return !!(served && state && served.csp === 'enforce') && set(served) !== set(state);
  }

  /* ----------------------------------------------------------- activation */

  // A new <script> for a neutralised one: same attributes, src from
  // data-consent-src or the inline text, type from data-consent-type (else
  // none), the nonce of the element or of the banner.
  function recreate(doc, el, nonce) {
    var s = doc.createElement('script');
    var a = el.attributes;
    // (an SVG script's source is its href)
    var src = el.getAttribute(PREFIX + 'src') || el.getAttribute(PREFIX + 'href') ||
      el.getAttribute(PREFIX + 'xlink-href');
    var type = el.getAttribute(PREFIX + 'type');
    for (var i = 0; i < a.length; i++) {
      var n = a[i].name;
      if (!/^(type|nonce|data-consent-(src|type|href|xlink-href))$/.test(n)) {
        s.setAttribute(n, a[i].value);
      }
    }
    if (type) s.setAttribute('type', type);
    if (el.nonce || nonce) s.nonce = el.nonce || nonce;
    if (src) {
      if (!el.hasAttribute('async')) s.async = false;
      s.setAttribute('src', src);
    } else {
      s.textContent = el.textContent;
    }
    return s;
  }

  // Moves data-consent-X to X on a non-script element (srcset before src; an
  // SVG xlink-href to href; text, a <style> sheet, to its content); gives it
  // the banner's nonce if it has none (a stylesheet <link> needs one under a
  // nonce-based style-src).
  function revive(el, nonce) {
    if (nonce && !el.nonce) el.nonce = nonce;
    var a = el.attributes;
    var todo = [];
    for (var i = 0; i < a.length; i++) {
      var n = a[i].name;
      var real = n.slice(PREFIX.length).replace('xlink-', '');
      if (n.indexOf(PREFIX) === 0 && !/^(category|service|active)$|^on/i.test(real)) {
        todo.push([real, a[i].value]);
      }
    }
    todo.sort(function (x, y) {
      return (x[0] === 'src' || x[0] === 'href') - (y[0] === 'src' || y[0] === 'href');
    });
    todo.forEach(function (p) {
      if (p[0] === 'text') el.textContent = p[1];
      else el.setAttribute(p[0], p[1]);
    });
  }

  // Returns activate(allows): activates, once each and in document order,
  // the neutralised elements all of whose categories `allows` accepts (with
  // data-consent-service, as "category/service": allowed on its own or with
  // its whole category). An
  // inline script waits until the external scripts activated before it have
  // loaded; external ones load in order (async = false). An element that
  // fails (e.g. refused by Trusted Types) is reported and skipped.
  function createActivator(doc, nonce, report) {
    var queue = [];
    var waiting = 0;

    function loaded() {
      this.onload = this.onerror = null;
      if (--waiting === 0) pump();
    }

    function pump() {
      while (queue.length) {
        var el = queue[0];
        var ext = el.hasAttribute(PREFIX + 'src');
        if (!ext && waiting) return;
        queue.shift();
        var p = el.parentNode;
        var wait = ext && !el.hasAttribute('async');
        try {
          var s = recreate(doc, el, nonce);
          if (wait) s.onload = s.onerror = loaded;
          p.replaceChild(s, el);
          if (wait) waiting++;
        } catch (e) {
          if (p) report(e);
        }
      }
    }

    return function activate(allows) {
      var list = doc.querySelectorAll('[' + PREFIX + 'category]');
      var n = 0;
      for (var i = 0; i < list.length; i++) {
        var el = list[i];
        if (el.hasAttribute(ACTIVE)) continue;
        var svc = el.getAttribute(PREFIX + 'service');
        var cats = (el.getAttribute(PREFIX + 'category') || '').split(/[\s,]+/).filter(Boolean);
        if (!cats.length || !cats.every(function (c) {
          return allows(svc ? c + '/' + svc : c);
        })) continue;
        el.setAttribute(ACTIVE, '');
        n++;
        if (/^script$/i.test(el.tagName)) queue.push(el);
        else {
          try {
            // A <link> fetches again only when inserted or its href changes
            // (not for imagesrcset): a revived copy takes its place.
            var link = /^link$/i.test(el.tagName) && el.cloneNode();
            revive(link || el, nonce);
            if (link) el.parentNode.replaceChild(link, el);
          } catch (e) {
            report(e);
          }
        }
      }
      pump();
      return n;
    };
  }

  /* -------------------------------------------------------------- sending */

  // Sends the latest choice until the server acknowledges it. opts: fetch,
  // url, storage, setTimeout, clearTimeout, onAck(op, state),
  // onFail(op, failuresSoFar), onDrop(op, status). A newer choice replaces
  // an unsent or failing one; only one request is in flight at a time.
  function createSender(opts) {
    var cur = null;
    var busy = false;
    var tries = 0;
    var timer = null;

    function settle(op) {
      busy = false;
      if (cur !== op) {
        send();
        return false;
      }
      cur = null;
      clearPending(opts.storage, op);
      return true;
    }

    function retry(op, ra) {
      busy = false;
      if (cur !== op) return send();
      opts.onFail(op, tries);
      timer = opts.setTimeout(send, backoff(tries++, ra));
    }

    function send() {
      timer = null;
      if (busy || !cur) return;
      var op = cur;
      var init = {
        method: op.method,
        credentials: 'same-origin',
        keepalive: true,
        headers: { Accept: 'application/json' }
      };
      if (op.body) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(op.body);
      }
      busy = true;
      Promise.resolve().then(function () {
        return opts.fetch(opts.url, init);
      }).then(function (res) {
        var kind = classify(res.status);
        if (kind === 'retry') return retry(op, res.headers && res.headers.get('Retry-After'));
        if (kind === 'drop') {
          if (settle(op)) opts.onDrop(op, res.status);
          return;
        }
        return Promise.resolve().then(function () {
          return res.json();
        }).then(null, noop).then(function (j) {
          if (settle(op)) opts.onAck(op, j && j.state);
        });
      }, function () {
        retry(op, null);
      }).then(null, noop);
    }

    return {
      submit: function (op) {
        cur = op;
        tries = 0;
        savePending(opts.storage, op);
        if (timer) opts.clearTimeout(timer);
        send();
      },
      // Retries now (e.g. when the browser comes back online).
      now: function () {
        if (timer) {
          opts.clearTimeout(timer);
          send();
        }
      },
      current: function () {
        return cur;
      }
    };
  }

  // For the unit tests (the build defines `module` away, so the shipped
  // file does not carry this).
  if (typeof module === 'object' && module && module.exports) module.exports = {
    KEY: KEY,
    CAP: CAP,
    pickLocale: pickLocale,
    requestBody: requestBody,
    classify: classify,
    backoff: backoff,
    savePending: savePending,
    loadPending: loadPending,
    clearPending: clearPending,
    localState: localState,
    changeNotice: changeNotice,
    safeUrl: safeUrl,
    needsReload: needsReload,
    recreate: recreate,
    revive: revive,
    createActivator: createActivator,
    createSender: createSender
  };

  if (!win || !win.document || win.ConsentBanner) return;

  /* ------------------------------------------------------------------- UI */

  var doc = win.document;

  function report(e) {
    try {
      win.console.error('consent_mw banner:', e);
    } catch (e2) { /* no console */ }
  }

  // Never lets an error reach the host page.
  function guard(fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (e) {
        report(e);
      }
    };
  }

  guard(function () {
    // Runs at once, while document.currentScript is still this script.
    var me = doc.currentScript || doc.querySelector('script[data-endpoint]');
    var attr = function (n) {
      return (me && me.getAttribute(n)) || '';
    };
    var endpoint = (attr('data-endpoint') || '/_consent').replace(/\/+$/, '');
    // Against the page's own address: a <base href> elsewhere must not carry
    // the consent API (or the stylesheet) to another host.
    endpoint = safeUrl(endpoint, win.location.href) || endpoint;
    var nonce = (me && (me.nonce || me.getAttribute('nonce'))) || '';
    var nav = win.navigator || {};
    var locale = pickLocale(attr('data-locale'), doc.documentElement.lang,
      nav.languages || [nav.language]);
    // GET, POST and DELETE all name the locale, so the record says which
    // texts the visitor saw.
    var url = endpoint + (locale ? '?locale=' + encodeURIComponent(locale) : '');
    var storage = null;
    try {
      storage = win.localStorage;
    } catch (e) { /* blocked */ }
    var activate = createActivator(doc, nonce, report);
    var subs = [];
    var S = null; // the state applied on the page
    var known = null; // the last state the server sent
    var served = null; // the first one: the page's CSP was compiled from it
    var reloading = false;
    var localOp = null; // the unacknowledged choice S was computed from
    var D = null; // the last GET answer (texts, categories, policy)
    var T = {};
    var ui = null;
    var layer = 0; // 0 closed, 1 first layer, 2 preferences
    var wanted = 0; // layer asked for by open() before the texts arrived
    var prevFocus = null;
    var statusTimer = null;
    var fetchFn = win.fetch.bind(win);

    // A category, or "category/service": allowed on its own or with its category.
    function allows(c) {
      var a = S && S.allowed || [];
      return a.indexOf(c) > -1 || a.indexOf(c.split('/')[0]) > -1;
    }

    function applyState(s) {
      if (!s) return;
      S = s;
      // The update goes into dataLayer before the tags it unblocks queue anything:
      // gtag.js processes dataLayer in order.
      if (s.consent_mode) {
        win.dataLayer = win.dataLayer || [];
        if (typeof win.gtag !== 'function') {
          win.gtag = function () {
            win.dataLayer.push(arguments);
          };
        }
        win.gtag('consent', 'update', copy(s.consent_mode));
      }
      // Under an enforced CSP nothing is re-activated in place: what the page
      // was served under already runs, and the rest would be refused by its
      // CSP (inline tags would run twice, here and after the reload).
      if (!served || served.csp !== 'enforce') activate(allows);
      subs.slice().forEach(function (cb) {
        guard(cb)(copy(s));
      });
      doc.dispatchEvent(new win.CustomEvent('consent:change', { detail: copy(s) }));
      if (layer) refresh();
    }

    function status(text) {
      if (!ui) return;
      ui.st.textContent = text || '';
      if (statusTimer) win.clearTimeout(statusTimer);
      statusTimer = win.setTimeout(function () {
        ui.st.textContent = '';
      }, 6000);
    }

    var sender = createSender({
      fetch: fetchFn,
      url: url,
      storage: storage,
      setTimeout: win.setTimeout.bind(win),
      clearTimeout: win.clearTimeout.bind(win),
      // Subscribers get the new state before a reload.
      onAck: guard(function (op, state) {
        var reload = !reloading && needsReload(served, state);
        applyState(known = state || known);
        if (reload) {
          reloading = true;
          win.location.reload();
        } else status(T.saved);
      }),
      onFail: guard(function (op, n) {
        if (!n && D && localOp !== op) {
          localOp = op;
          applyState(localState(S || D.state, D.categories, op));
          status(T.pending);
        }
      }),
      // The server refused the choice for good (4xx): back to the server's
      // state, and ask again if it still needs an answer.
      onDrop: guard(function (op, code) {
        report('choice refused: ' + code);
        if (S && S.pending) applyState(known);
        if (D && known && known.needs_prompt) show(1);
      })
    });

    /* --- building the UI --- */

    function h(tag, props, kids) {
      var e = doc.createElement(tag);
      Object.keys(props || {}).forEach(function (k) {
        var v = props[k];
        if (k === 'text') e.textContent = v == null ? '' : v;
        else if (k === 'cls') e.className = v;
        else if (k === 'click') e.addEventListener('click', guard(v));
        else if (v != null && v !== false) e.setAttribute(k, v === true ? '' : v);
      });
      (kids || []).forEach(function (c) {
        if (c) e.appendChild(c);
      });
      return e;
    }

    function button(text, cls, click) {
      return h('button', { type: 'button', cls: 'cmw-b ' + cls, text: text, click: click });
    }

    function policyLink() {
      var url = D.policy && safeUrl(D.policy.url, win.location.href);
      return url ? h('a', { href: url, text: T.policy_link }) : null;
    }

    function notes(box) {
      box.textContent = '';
      var list = [
        S && S.gpc && T.gpc_honoured,
        S && S.child && T.child_rule,
        D.policy && changeNotice(T.change_notice, D.policy.pending_change, D.locale || locale),
        sender.current() && T.pending
      ];
      list.forEach(function (t) {
        if (t) box.appendChild(h('p', { cls: 'cmw-n', text: t }));
      });
    }

    function category(c, i) {
      var id = 'cmw-c' + i;
      var head = c.required
        ? [h('h3', { text: c.title }), h('span', { cls: 'cmw-on', text: T.always_on })]
        : [h('h3', {}, [h('label', { for: id, text: c.title })]),
          h('input', { type: 'checkbox', role: 'switch', id: id, cls: 'cmw-sw',
            'data-id': c.id, 'aria-describedby': id + 'd' })];
      // Its cookies, processors, retention and services come with the
      // preferences chunk (banner-prefs.js).
      return h('div', { cls: 'cmw-cat' }, [
        h('div', { cls: 'cmw-h' }, head),
        h('p', { id: id + 'd', text: c.description })
      ]);
    }

    function build() {
      if (ui) return;
      var u = ui = {};
      var dialog = function (n, title, desc, kids) {
        return h('div', {
          cls: 'cmw-box cmw-l' + n, role: 'dialog', tabindex: '-1', 'aria-modal': n > 1 && 'true',
          'aria-labelledby': 'cmw-t' + n, 'aria-describedby': 'cmw-d' + n
        }, [h('h2', { id: 'cmw-t' + n, text: title }), h('p', { id: 'cmw-d' + n, text: desc })]
          .concat(kids));
      };
      u.n1 = h('div');
      u.n2 = h('div');
      u.prefs = button(T.preferences, 'cmw-s', function () {
        show(2);
      });
      u.withdraw = button(T.withdraw, 'cmw-s', function () {
        decide({ method: 'DELETE' });
      });
      u.close = button(T.close, 'cmw-s', function () {
        show(0);
      });
      u.l1 = dialog(1, T.title, T.intro, [
        u.n1,
        h('div', { cls: 'cmw-row' }, [
          button(T.accept_all, 'cmw-p', function () {
            decide({ method: 'POST', body: requestBody('accept_all') });
          }),
          button(T.reject_all, 'cmw-p', function () {
            decide({ method: 'POST', body: requestBody('reject_all') });
          }),
          u.prefs
        ]),
        h('div', { cls: 'cmw-row cmw-x' }, [u.withdraw, u.close]),
        policyLink()
      ]);
      u.cats = (D.categories || []).map(category);
      u.l2 = dialog(2, T.preferences, T.intro, [u.n2].concat(u.cats, [
        policyLink(),
        h('div', { cls: 'cmw-row' }, [
          button(T.save, 'cmw-p', function () {
            var choices = {};
            [].forEach.call(u.l2.querySelectorAll('.cmw-sw'), function (sw) {
              choices[sw.getAttribute('data-id')] = sw.checked;
            });
            decide({ method: 'POST', body: requestBody(null, choices, D.categories) });
          }),
          button(T.back, 'cmw-s', function () {
            show(1);
          })
        ])
      ]));
      u.bg = h('div', { cls: 'cmw-bg', hidden: true }, [u.l2]);
      u.re = h('button', { type: 'button', cls: 'cmw-re', 'aria-haspopup': 'dialog', text: T.reopen,
        click: function () {
          show(1);
        } });
      u.st = h('p', { cls: 'cmw-st', role: 'status' });
      u.l1.hidden = true;
      u.root = h('div', { cls: 'cmw', lang: D.locale || null }, [u.l1, u.bg, u.re, u.st]);
      doc.body.appendChild(u.root);
      doc.addEventListener('keydown', guard(onKey), true);
      doc.addEventListener('focusin', guard(function (e) {
        if (layer === 2 && !u.l2.contains(e.target)) focusIn(u.l2);
      }));
    }

    function focusables(box) {
      return [].filter.call(box.querySelectorAll('a[href],button,input'),
        function (e) {
          return !e.disabled && e.getClientRects().length;
        });
    }

    function focusIn(box, el) {
      (el || box).focus({ preventScroll: true });
    }

    function onKey(e) {
      if (!layer) return;
      if (e.key === 'Escape') {
        var free = closable();
        if (layer === 2 && !free) show(1);
        else if (free) show(0);
        else return;
        e.preventDefault();
      } else if (e.key === 'Tab' && layer === 2) {
        var f = focusables(ui.l2);
        var a = doc.activeElement;
        if (!f.length) return;
        if (e.shiftKey ? a === f[0] || a === ui.l2 : a === f[f.length - 1]) {
          focusIn(ui.l2, f[e.shiftKey ? f.length - 1 : 0]);
          e.preventDefault();
        }
      }
    }

    // The banner may be closed without a choice once the visitor has decided
    // or when the server does not need an answer.
    function closable() {
      return !!(S && (S.decided || !S.needs_prompt));
    }

    function refresh() {
      notes(ui.n1);
      notes(ui.n2);
      ui.withdraw.hidden = !(S && (S.decided || S.consent_id));
      ui.close.hidden = !closable();
      ui.close.parentNode.hidden = ui.withdraw.hidden && ui.close.hidden;
    }

    // Shows layer n (0 = none) and moves the focus.
    function show(n) {
      build();
      var from = layer;
      if (!from && n) prevFocus = doc.activeElement;
      layer = n;
      if (n) {
        refresh();
        status('');
      }
      if (n === 2) {
        [].forEach.call(ui.l2.querySelectorAll('.cmw-sw'), function (sw) {
          sw.checked = allows(sw.getAttribute('data-id'));
        });
        // The details and the services' switches come with a chunk of their
        // own, loaded once.
        if (D.chunk && !ui.x) doc.head.appendChild(ui.x = h('script', { src: D.chunk, nonce: nonce }));
      }
      ui.l1.hidden = n !== 1;
      ui.bg.hidden = n !== 2;
      ui.re.hidden = !!n;
      if (n === 1) focusIn(ui.l1, from === 2 ? ui.prefs : null);
      else if (n === 2) focusIn(ui.l2);
      else if (from) {
        var p = prevFocus;
        prevFocus = null;
        if (p && p.focus && p !== doc.body && doc.contains(p)) p.focus({ preventScroll: true });
      }
    }

    function decide(op) {
      op.at = Date.now();
      show(0);
      sender.submit(op);
    }

    /* --- loading --- */

    // GET the texts and state, then resend a choice left pending by an
    // earlier page (also when the GET fails).
    function load() {
      return Promise.resolve().then(function () {
        return fetchFn(url, { credentials: 'same-origin', cache: 'no-store',
          headers: { Accept: 'application/json' } });
      }).then(function (r) {
        if (!r.ok) throw r;
        return r.json();
      }).then(guard(function (data) {
        if (!data || !data.state) throw new Error('bad answer');
        D = data;
        T = data.texts || {};
        var op = localOp = loadPending(storage);
        served = known = data.state;
        applyState(op ? localState(known, data.categories, op) : known);
        if (op) sender.submit(op);
        var st = data.state;
        return cssReady.then(guard(function () {
          if (wanted || st.show_banner !== false) {
            show(wanted || (st.needs_prompt && !sender.current() ? 1 : 0));
          }
        }));
      }), function () {
        var op = loadPending(storage);
        if (op) sender.submit(op);
      }).then(null, noop);
    }

    var link = doc.createElement('link');
    link.rel = 'stylesheet';
    link.href = endpoint + '/banner.css';
    if (nonce) link.nonce = nonce;
    var cssReady = new Promise(function (resolve) {
      link.onload = link.onerror = resolve;
      win.setTimeout(resolve, 3000);
    });
    (doc.head || doc.documentElement).appendChild(link);

    win.addEventListener('online', guard(function () {
      sender.now();
    }));

    win.ConsentBanner = {
      open: guard(function (which) {
        var n = which === 'preferences' ? 2 : 1;
        if (D) show(n);
        else wanted = n;
      }),
      allows: guard(function (c) {
        return allows(c);
      }),
      onChange: guard(function (cb) {
        if (typeof cb !== 'function') return noop;
        subs.push(cb);
        return function () {
          var i = subs.indexOf(cb);
          if (i > -1) subs.splice(i, 1);
        };
      }),
      get state() {
        return copy(S);
      },
      // for the preferences chunk: the texts, categories and services shown
      get data() {
        return copy(D);
      }
    };

    load();
  })();
})(typeof window !== 'undefined' ? window : null);
