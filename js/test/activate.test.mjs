// Re-activation of the elements the server neutralised, on a tiny fake DOM.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { FakeDocument, FakeElement } from '../test-helpers/fake-dom.mjs';

const require = createRequire(import.meta.url);
const b = require('../src/banner.js');

const allow = (...cats) => (c) => cats.includes(c);

function scriptEl(attrs, text = '') {
  return new FakeElement('script', { type: 'text/plain', ...attrs }, text);
}

// A page: external A (analytics), inline B (analytics), external C (advertising),
// inline D (analytics), img (advertising), iframe (analytics), link (functional).
function page() {
  const doc = new FakeDocument();
  const els = {
    a: doc.add(scriptEl({ 'data-consent-category': 'analytics', 'data-consent-src': 'https://t.example/a.js', id: 'a' })),
    b: doc.add(scriptEl({ 'data-consent-category': 'analytics', id: 'b' }, 'window.b = 1')),
    c: doc.add(scriptEl({ 'data-consent-category': 'advertising', 'data-consent-src': 'https://ads.example/c.js',
      'data-consent-type': 'module', id: 'c' })),
    d: doc.add(scriptEl({ 'data-consent-category': 'analytics', id: 'd' }, 'window.d = 1')),
    img: doc.add(new FakeElement('img', { 'data-consent-category': 'advertising',
      'data-consent-src': 'https://ads.example/p.gif', 'data-consent-srcset': 'https://ads.example/p2.gif 2x',
      alt: '' })),
    iframe: doc.add(new FakeElement('iframe', { 'data-consent-category': 'analytics',
      'data-consent-src': 'https://video.example/embed', src: 'about:blank' })),
    link: doc.add(new FakeElement('link', { 'data-consent-category': 'functional', rel: 'stylesheet',
      'data-consent-href': 'https://fonts.example/f.css' })),
    plain: doc.add(new FakeElement('script', { src: '/app.js' })),
  };
  return { doc, els };
}

const ids = (list) => list.map((e) => e.getAttribute('id'));

describe('script re-creation', () => {
  test('copies attributes, takes src from data-consent-src, drops text/plain, async = false', () => {
    const doc = new FakeDocument();
    const el = scriptEl({ 'data-consent-category': 'analytics', 'data-consent-src': 'https://t.example/a.js',
      id: 'x', crossorigin: 'anonymous', 'data-foo': 'bar', nonce: '' });
    const s = b.recreate(doc, el, 'N0NCE');
    assert.equal(s.tagName, 'SCRIPT');
    assert.equal(s.getAttribute('src'), 'https://t.example/a.js');
    assert.equal(s.hasAttribute('type'), false);
    assert.equal(s.getAttribute('crossorigin'), 'anonymous');
    assert.equal(s.getAttribute('data-foo'), 'bar');
    assert.equal(s.getAttribute('id'), 'x');
    assert.equal(s.getAttribute('data-consent-category'), 'analytics');
    assert.equal(s.hasAttribute('data-consent-src'), false);
    assert.equal(s.hasAttribute('nonce'), false, 'the nonce goes through the property');
    assert.equal(s.nonce, 'N0NCE');
    assert.equal(s.async, false);
    assert.equal(s.textContent, '');
  });
  test('inline scripts keep their text; the original type comes from data-consent-type', () => {
    const doc = new FakeDocument();
    const el = scriptEl({ 'data-consent-category': 'analytics', 'data-consent-type': 'module' }, 'import "x"');
    const s = b.recreate(doc, el, '');
    assert.equal(s.getAttribute('type'), 'module');
    assert.equal(s.textContent, 'import "x"');
    assert.equal(s.hasAttribute('src'), false);
    assert.equal(s.nonce, '');
  });
  test("the element's own nonce property wins over the banner's", () => {
    const doc = new FakeDocument();
    const el = scriptEl({ 'data-consent-category': 'analytics' }, '1');
    el.nonce = 'OWN';
    assert.equal(b.recreate(doc, el, 'BANNER').nonce, 'OWN');
  });
  test('an originally async script stays async', () => {
    const doc = new FakeDocument();
    const el = scriptEl({ 'data-consent-category': 'analytics', 'data-consent-src': '/x.js', async: '' });
    const s = b.recreate(doc, el, '');
    assert.equal(s.async, true);
    assert.equal(s.hasAttribute('async'), true);
  });
});

describe('other elements', () => {
  test('img gets srcset and then src; the category stays', () => {
    const el = new FakeElement('img', { 'data-consent-category': 'advertising', 'data-consent-src': '/p.gif',
      'data-consent-srcset': '/p2.gif 2x', 'data-consent-sizes': '10px', alt: 'x' });
    const order = [];
    const set = el.setAttribute.bind(el);
    el.setAttribute = (n, v) => { order.push(n); set(n, v); };
    b.revive(el);
    assert.equal(el.getAttribute('src'), '/p.gif');
    assert.equal(el.getAttribute('srcset'), '/p2.gif 2x');
    assert.equal(el.getAttribute('sizes'), '10px');
    assert.equal(order.at(-1), 'src');
    assert.equal(el.getAttribute('alt'), 'x');
  });
  test("gets the banner's nonce unless it has its own", () => {
    const link = new FakeElement('link', { 'data-consent-category': 'a', 'data-consent-href': '/f.css', rel: 'stylesheet' });
    b.revive(link, 'N');
    assert.equal(link.nonce, 'N');
    assert.equal(link.getAttribute('href'), '/f.css');
    const own = new FakeElement('link', { 'data-consent-category': 'a', 'data-consent-href': '/f.css' });
    own.nonce = 'OWN';
    b.revive(own, 'N');
    assert.equal(own.nonce, 'OWN');
  });
  test('an SVG xlink-href comes back as href, which SVG 2 reads', () => {
    const el = new FakeElement('image', { 'data-consent-category': 'a', 'data-consent-xlink-href': '/p.gif' });
    b.revive(el);
    assert.equal(el.getAttribute('href'), '/p.gif');
    assert.equal(el.hasAttribute('xlink-href'), false);
  });
  test("a <style> gets its original sheet back as its text; a style attribute its value", () => {
    const sheet = new FakeElement('style', { 'data-consent-category': 'a',
      'data-consent-text': 'p{background:url(https://t.example/p.gif)}' }, 'p{background:url()}');
    b.revive(sheet);
    assert.equal(sheet.textContent, 'p{background:url(https://t.example/p.gif)}');
    assert.equal(sheet.hasAttribute('text'), false);
    const div = new FakeElement('div', { 'data-consent-category': 'a', style: 'background:url()',
      'data-consent-style': 'background:url(/x.png)' });
    b.revive(div);
    assert.equal(div.getAttribute('style'), 'background:url(/x.png)');
  });
  test('an SVG script is re-created with its href as its source', () => {
    const el = scriptEl({ 'data-consent-category': 'a', 'data-consent-xlink-href': '/s.js', id: 's' });
    const s = b.recreate(new FakeDocument(), el, '');
    assert.equal(s.getAttribute('src'), '/s.js');
    assert.equal(s.hasAttribute('data-consent-xlink-href'), false);
    const modern = b.recreate(new FakeDocument(), scriptEl({ 'data-consent-href': '/m.js' }), '');
    assert.equal(modern.getAttribute('src'), '/m.js');
  });
  test('never turns data-consent-on* into an event handler attribute', () => {
    const el = new FakeElement('img', { 'data-consent-category': 'a', 'data-consent-onerror': 'alert(1)' });
    b.revive(el);
    assert.equal(el.hasAttribute('onerror'), false);
  });
});

describe('createActivator', () => {
  test('activates only allowed categories, each element once', () => {
    const { doc, els } = page();
    const activate = b.createActivator(doc, 'N');
    assert.equal(activate(allow('necessary')), 0);
    assert.equal(doc.log.length, 0);

    assert.equal(activate(allow('necessary', 'functional')), 1);
    // A <link> is replaced by a revived copy: Chromium fetches a link again only
    // when it is inserted or its href changes (not for imagesrcset).
    const link = doc.log.at(-1);
    assert.equal(link.tagName, 'LINK');
    assert.equal(els.link.parentNode, null);
    assert.equal(link.getAttribute('href'), 'https://fonts.example/f.css');
    assert.equal(link.hasAttribute('data-consent-active'), true);
    assert.equal(link.nonce, 'N');

    assert.equal(activate(allow('necessary', 'functional')), 0, 'nothing twice');
    assert.equal(els.img.hasAttribute('src'), false);
    assert.equal(els.iframe.getAttribute('src'), 'about:blank');
  });

  test('external scripts are inserted in document order; inline ones wait for the externals before them', () => {
    const { doc, els } = page();
    const activate = b.createActivator(doc, 'N');
    activate(allow('necessary', 'analytics', 'advertising'));
    // a (external) is inserted; b (inline) must wait for a to load.
    assert.deepEqual(ids(doc.log), ['a']);
    assert.equal(els.iframe.getAttribute('src'), 'https://video.example/embed');
    assert.equal(els.img.getAttribute('src'), 'https://ads.example/p.gif');
    const a = doc.log[0];
    assert.equal(a.async, false);
    a.finishLoading();
    // b runs, then c (external) is inserted, d waits for c.
    assert.deepEqual(ids(doc.log), ['a', 'b', 'c']);
    assert.equal(doc.log[2].getAttribute('type'), 'module');
    doc.log[2].finishLoading(false); // a failed load does not block the rest
    assert.deepEqual(ids(doc.log), ['a', 'b', 'c', 'd']);
    assert.equal(doc.log[3].textContent, 'window.d = 1');
    for (const s of doc.log) assert.equal(s.nonce, 'N');
    // the page's own script is never touched
    assert.equal(doc.children.at(-1), els.plain);
  });

  test('consecutive external scripts are all inserted at once (they run in order by async = false)', () => {
    const doc = new FakeDocument();
    doc.add(scriptEl({ 'data-consent-category': 'analytics', 'data-consent-src': '/1.js', id: '1' }));
    doc.add(scriptEl({ 'data-consent-category': 'analytics', 'data-consent-src': '/2.js', id: '2' }));
    doc.add(scriptEl({ 'data-consent-category': 'analytics', id: '3' }, 'x()'));
    b.createActivator(doc, '')(allow('analytics'));
    assert.deepEqual(ids(doc.log), ['1', '2']);
    doc.log[1].finishLoading();
    assert.deepEqual(ids(doc.log), ['1', '2'], 'waits for every external before');
    doc.log[0].finishLoading();
    doc.log[0].finishLoading(); // a second event changes nothing
    assert.deepEqual(ids(doc.log), ['1', '2', '3']);
  });

  test('a later activation waits for externals of an earlier one', () => {
    const doc = new FakeDocument();
    doc.add(scriptEl({ 'data-consent-category': 'analytics', 'data-consent-src': '/1.js', id: '1' }));
    doc.add(scriptEl({ 'data-consent-category': 'advertising', id: '2' }, 'x()'));
    const activate = b.createActivator(doc, '');
    activate(allow('analytics'));
    activate(allow('analytics', 'advertising'));
    assert.deepEqual(ids(doc.log), ['1']);
    doc.log[0].finishLoading();
    assert.deepEqual(ids(doc.log), ['1', '2']);
  });

  test('re-created scripts are not activated again', () => {
    const { doc } = page();
    const activate = b.createActivator(doc, '');
    activate(allow('analytics', 'advertising', 'functional'));
    doc.log.forEach((s) => s.finishLoading());
    const n = doc.log.length;
    assert.equal(activate(allow('analytics', 'advertising', 'functional')), 0);
    assert.equal(doc.log.length, n);
  });

  test('an element of several categories needs all of them', () => {
    const doc = new FakeDocument();
    const img = doc.add(new FakeElement('img', { 'data-consent-category': 'analytics advertising', 'data-consent-src': '/x' }));
    const activate = b.createActivator(doc, '');
    activate(allow('analytics'));
    assert.equal(img.hasAttribute('src'), false);
    activate(allow('analytics', 'advertising'));
    assert.equal(img.getAttribute('src'), '/x');
  });

  test('an element that fails is reported and the others still activate', () => {
    const doc = new FakeDocument();
    const bad = doc.add(new FakeElement('img', { 'data-consent-category': 'a', 'data-consent-src': '/x' }));
    const set = bad.setAttribute.bind(bad);
    bad.setAttribute = (n, v) => {
      if (n === 'src') throw new TypeError('refused');
      set(n, v);
    };
    doc.add(scriptEl({ 'data-consent-category': 'a', 'data-consent-src': '/1.js', id: '1' }));
    doc.add(scriptEl({ 'data-consent-category': 'a', id: '2' }, 'x()'));
    const realCreate = doc.createElement.bind(doc);
    doc.createElement = (tag) => {
      const el = realCreate(tag);
      const setAttr = el.setAttribute.bind(el);
      el.setAttribute = (n, v) => {
        if (n === 'src') throw new TypeError('TrustedScriptURL required');
        setAttr(n, v);
      };
      return el;
    };
    const errors = [];
    b.createActivator(doc, '', (e) => errors.push(e.message))(allow('a'));
    assert.deepEqual(errors, ['refused', 'TrustedScriptURL required']);
    assert.deepEqual(ids(doc.log), ['2'], 'the inline script does not wait for a script that never loads');
  });

  test('an element removed from the page before its turn is skipped', () => {
    const doc = new FakeDocument();
    doc.add(scriptEl({ 'data-consent-category': 'a', 'data-consent-src': '/1.js', id: '1' }));
    const gone = doc.add(scriptEl({ 'data-consent-category': 'a', id: '2' }, 'x()'));
    doc.add(scriptEl({ 'data-consent-category': 'a', id: '3' }, 'y()'));
    b.createActivator(doc, '')(allow('a'));
    gone.parentNode = null;
    doc.log[0].finishLoading();
    assert.deepEqual(ids(doc.log), ['1', '3']);
  });
});

describe('per service', () => {
  test('an element of a service activates when that service, or its whole category, is allowed', () => {
    const doc = new FakeDocument();
    const meta = doc.add(new FakeElement('img', { 'data-consent-category': 'advertising',
      'data-consent-service': 'Meta', 'data-consent-src': 'https://www.facebook.com/tr?id=1', alt: '' }));
    const tiktok = doc.add(new FakeElement('img', { 'data-consent-category': 'advertising',
      'data-consent-service': 'TikTok', 'data-consent-src': 'https://analytics.tiktok.com/p', alt: '' }));
    const plain = doc.add(new FakeElement('img', { 'data-consent-category': 'advertising',
      'data-consent-src': 'https://ads.example/p.gif', alt: '' }));
    const activate = b.createActivator(doc, 'N');
    assert.equal(activate(allow('necessary', 'advertising/Meta')), 1);
    assert.equal(meta.getAttribute('src'), 'https://www.facebook.com/tr?id=1');
    // the service's name is no attribute of the revived element
    assert.equal(meta.hasAttribute('service'), false);
    assert.equal(tiktok.hasAttribute('src'), false);
    assert.equal(plain.hasAttribute('src'), false);
    // the whole category: "advertising/TikTok" asks allows() for it, which the
    // banner answers true when advertising is allowed whole
    const whole = (c) => ['necessary', 'advertising'].includes(c.split('/')[0]);
    assert.equal(activate(whole), 2);
    assert.equal(tiktok.getAttribute('src'), 'https://analytics.tiktok.com/p');
    assert.equal(plain.getAttribute('src'), 'https://ads.example/p.gif');
  });
});
