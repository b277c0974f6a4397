/*
 * consent_mw embeds: the buttons of the click-to-load placeholders the
 * rewriter puts before refused embedded players, and the storage cleaner.
 *
 * Injected by the middleware after the banner, with data-endpoint (the
 * consent API), data-allowed (the categories the page was served for) and
 * data-storage ({category: {service: {s: storage keys, c: cookie names}}},
 * `*` matching any run of characters). It never records consent itself
 * except through the consent API, as the banner does.
 *
 * - A placeholder (.consent-embed, data-embed-service/-category) gets "load
 *   this once" (restores the element after it, on this page only, nothing
 *   recorded) and "always allow <service>" (POSTs the visitor's choices with
 *   {"<category>": {"<service>": true}} added, then restores every embed of
 *   the service).
 * - When a category is allowed (the banner's `consent:change`), its
 *   placeholders go: the banner has restored what they stood for.
 * - At load and after every `consent:change`, the localStorage and
 *   sessionStorage keys and the cookies the map gives to a refused category
 *   (or to a refused service in it) are removed.
 */
(function (win) {
  'use strict';

  // "a*b" -> matches "a", then anything, then "b" (whole name).
  function matcher(patterns) {
    var re = (patterns || []).map(function (p) {
      return p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
    }).join('|');
    return re ? new RegExp('^(?:' + re + ')$') : null;
  }

  // Whether `state` ({allowed: [...], choices: {...}}) allows `service` of
  // `category`: a per-service choice wins over its category's.
  function allows(state, category, service) {
    var c = state.choices && state.choices[category];
    if (c && typeof c === 'object' && service in c) return !!c[service];
    return (state.allowed || []).indexOf(category) > -1;
  }

  // The storage keys and cookie names the map gives to what `state` refuses.
  function refused(map, state) {
    var out = { s: [], c: [] };
    Object.keys(map || {}).forEach(function (cat) {
      Object.keys(map[cat]).forEach(function (svc) {
        if (allows(state, cat, svc)) return;
        out.s = out.s.concat(map[cat][svc].s || []);
        out.c = out.c.concat(map[cat][svc].c || []);
      });
    });
    return out;
  }

  // Removes from each storage the keys `re` matches; returns them.
  function cleanStorage(stores, re) {
    var gone = [];
    if (!re) return gone;
    stores.forEach(function (st) {
      try {
        for (var i = st.length - 1; i >= 0; i--) {
          var k = st.key(i);
          if (k !== null && re.test(k)) {
            st.removeItem(k);
            gone.push(k);
          }
        }
      } catch (e) { /* storage refused */ }
    });
    return gone;
  }

  // Expires the cookies `re` matches, on this host and each parent domain.
  function cleanCookies(doc, re) {
    if (!re) return [];
    var host = doc.location.hostname.split('.');
    var gone = [];
    doc.cookie.split(';').forEach(function (pair) {
      var name = pair.split('=')[0].trim();
      if (!name || !re.test(name)) return;
      gone.push(name);
      for (var i = 0; i < host.length; i++) {
        var d = i ? ';domain=.' + host.slice(i).join('.') : '';
        doc.cookie = name + '=;path=/;max-age=0' + d;
      }
    });
    return gone;
  }

  // The request body of "always allow": the visitor's choices as they are,
  // with the one service allowed in its category.
  function alwaysBody(choices, category, service) {
    var out = {};
    Object.keys(choices || {}).forEach(function (k) {
      out[k] = choices[k];
    });
    var cur = out[category];
    var mine = {};
    if (cur && typeof cur === 'object') {
      Object.keys(cur).forEach(function (k) {
        mine[k] = cur[k];
      });
    }
    mine[service] = true;
    out[category] = mine;
    return { choices: out };
  }

  // For the unit tests (the build defines `module` away).
  if (typeof module === 'object' && module && module.exports) module.exports = {
    matcher: matcher, allows: allows, refused: refused, cleanStorage: cleanStorage,
    cleanCookies: cleanCookies, alwaysBody: alwaysBody
  };

  if (!win || !win.document || win.ConsentEmbeds) return;
  var doc = win.document;
  var me = doc.currentScript;
  var attr = function (n) {
    return me && me.getAttribute(n) || '';
  };
  var map = {};
  try {
    map = JSON.parse(attr('data-storage') || '{}');
  } catch (e) { /* no map */ }
  var endpoint = attr('data-endpoint') || '/_consent';
  var served = { allowed: attr('data-allowed').split(' '), choices: {} };
  var PH = '.consent-embed';

  function clean(state) {
    var r = refused(map, state);
    var stores = [];
    try {
      stores = [win.localStorage, win.sessionStorage];
    } catch (e) { /* none */ }
    cleanStorage(stores, matcher(r.s));
    cleanCookies(doc, matcher(r.c));
  }

  // Puts back what a placeholder stands for (the element right after it).
  function restore(ph) {
    var el = ph.nextElementSibling;
    if (el && el.localName === 'script' && el.hasAttribute('data-consent-src')) {
      var s = doc.createElement('script');
      s.src = el.getAttribute('data-consent-src');
      if (el.nonce || me && me.nonce) s.nonce = el.nonce || me.nonce;
      el.parentNode.replaceChild(s, el);
    } else if (el) {
      var a = [].slice.call(el.attributes);
      a.forEach(function (at) {
        var real = at.name.slice(13);
        if (at.name.indexOf('data-consent-') === 0 && !/^(category|service|active)$/.test(real) &&
            !/^on/i.test(real)) {
          el.removeAttribute(at.name);
          el.setAttribute(real, at.value);
        }
      });
      el.removeAttribute('hidden');
    }
    ph.parentNode.removeChild(ph);
  }

  function each(fn) {
    [].slice.call(doc.querySelectorAll(PH)).forEach(fn);
  }

  function button(ph, label, fn) {
    var b = doc.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', fn);
    return b;
  }

  function always(ph) {
    var cat = ph.getAttribute('data-embed-category');
    var svc = ph.getAttribute('data-embed-service');
    var state = win.ConsentBanner && win.ConsentBanner.state || served;
    return win.fetch(endpoint, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(alwaysBody(state.choices, cat, svc))
    }).then(function (res) {
      if (!res.ok) return;
      each(function (p) {
        if (p.getAttribute('data-embed-service') === svc) restore(p);
      });
    }, function () { /* offline: the placeholder stays */ });
  }

  function decorate(ph) {
    var p = doc.createElement('p');
    p.className = 'consent-embed-actions';
    p.appendChild(button(ph, ph.getAttribute('data-embed-once'), function () {
      restore(ph);
    }));
    p.appendChild(doc.createTextNode(' '));
    p.appendChild(button(ph, ph.getAttribute('data-embed-always'), function () {
      always(ph);
    }));
    ph.appendChild(p);
  }

  function start() {
    each(decorate);
    clean(served);
  }

  doc.addEventListener('consent:change', function (e) {
    var state = e.detail || {};
    each(function (ph) {
      if (allows(state, ph.getAttribute('data-embed-category'),
        ph.getAttribute('data-embed-service'))) restore(ph);
    });
    clean(state);
  });
  win.ConsentEmbeds = { clean: clean, restore: restore };
  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', start);
  else start();
})(typeof window !== 'undefined' ? window : null);
