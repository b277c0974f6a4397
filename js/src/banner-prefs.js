/*! consent_mw banner preferences | MIT */
/*
 * The preferences layer in detail, a chunk banner.js loads the first time the
 * visitor opens it (so the banner every page loads stays small): each
 * category's cookies, processors and retention, and in a category the policy
 * lists services in, a switch per service with its purpose, retention and
 * cookies. A service's switch has data-id="category/service"; banner.js sets
 * it from the state when the layer opens and, when saving, sends a category
 * switched off with some of its services on service by service
 * ({"advertising": {"Meta": true}}). The category's switch turns all its
 * services on or off; turning one service off turns the category's off.
 *
 * Same rules as banner.js: no eval, no inline styles, server text through
 * textContent only; under Node it only exports its pure helpers.
 */
(function (win) {
  'use strict';

  function join() {
    return [].filter.call(arguments, Boolean).join(' · ');
  }

  // The lines under a category's description: [term, [items]] pairs.
  function categoryDetails(T, c) {
    return [
      [T.cookies, (c.cookies || []).map(function (k) {
        return join(k.name, k.owner, k.lifetime);
      })],
      [T.processors, (c.processors || []).map(function (p) {
        return join(p.name, p.purpose);
      })],
      [T.retention, c.retention ? [c.retention] : []]
    ].filter(function (d) {
      return d[1].length;
    });
  }

  // The description of a service's switch: purpose, retention, cookies.
  function serviceText(T, s) {
    var cookies = (s.cookies || []).map(function (k) {
      return join(k.name, k.lifetime);
    });
    return join(s.purpose, s.retention && T.retention + ': ' + s.retention,
      cookies.length && T.cookies + ': ' + cookies.join(', '));
  }

  function fill(doc, D, allows) {
    var T = D.texts || {};
    var h = function (tag, props, kids) {
      var e = doc.createElement(tag);
      Object.keys(props || {}).forEach(function (k) {
        if (k === 'text') e.textContent = props[k];
        else if (k === 'cls') e.className = props[k];
        else e.setAttribute(k, props[k]);
      });
      (kids || []).forEach(function (c) {
        e.appendChild(c);
      });
      return e;
    };
    var boxes = doc.querySelectorAll('.cmw-l2 .cmw-cat');
    (D.categories || []).forEach(function (c, i) {
      var box = boxes[i];
      if (!box || box.getAttribute('data-filled')) return;
      box.setAttribute('data-filled', '1');
      var dl = [];
      categoryDetails(T, c).forEach(function (d) {
        dl.push(h('dt', { text: d[0] }), h('dd', {}, [h('ul', {}, d[1].map(function (t) {
          return h('li', { text: t });
        }))]));
      });
      if (dl.length) box.appendChild(h('dl', {}, dl));
      var all = box.querySelector('.cmw-sw');
      if (!all || !(c.services || []).length) return;
      var group = h('div', { cls: 'cmw-svc', role: 'group', 'aria-label': join(c.title, T.services) });
      c.services.forEach(function (s, j) {
        var id = 'cmw-c' + i + 's' + j;
        var sw = h('input', { type: 'checkbox', role: 'switch', id: id, cls: 'cmw-sw',
          'data-id': c.id + '/' + s.name, 'aria-describedby': id + 'd' });
        sw.checked = !!allows(c.id + '/' + s.name);
        sw.addEventListener('change', function () {
          if (!sw.checked) all.checked = false;
        });
        group.appendChild(h('div', { cls: 'cmw-cat' }, [
          h('div', { cls: 'cmw-h' }, [h('span', {}, [h('label', { for: id, text: s.name })]), sw]),
          h('p', { id: id + 'd', text: serviceText(T, s) })
        ]));
      });
      all.addEventListener('change', function () {
        [].forEach.call(group.querySelectorAll('.cmw-sw'), function (sw) {
          sw.checked = all.checked;
        });
      });
      box.appendChild(group);
    });
  }

  if (typeof module === 'object' && module && module.exports) module.exports = {
    join: join,
    categoryDetails: categoryDetails,
    serviceText: serviceText
  };

  var B = win && win.document && win.ConsentBanner;
  if (!B) return;
  try {
    fill(win.document, B.data || {}, B.allows);
  } catch (e) {
    try {
      win.console.error('consent_mw banner:', e);
    } catch (e2) { /* no console */ }
  }
})(typeof window !== 'undefined' ? window : null);
