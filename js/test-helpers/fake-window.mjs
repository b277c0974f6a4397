// A fake window for running the whole banner (js/src/banner.js) in node: the
// page's neutralised elements from fake-dom.mjs, enough DOM for the banner's
// UI to be built and its buttons clicked, a scripted fetch, manual timers and
// a location whose reload() is only counted.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { FakeDocument, FakeElement, FakeStorage } from './fake-dom.mjs';

const SOURCE = new URL('../src/banner.js', import.meta.url);

export const flush = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

export function response(status, body = null) {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: { get: () => null },
    json: async () => {
      if (body === null) throw new SyntaxError('no JSON');
      return body;
    },
  };
}

class UiElement extends FakeElement {
  constructor(doc, tag) {
    super(tag);
    this.doc = doc;
    this.children = [];
    this.listeners = {};
    this.hidden = false;
    this.className = '';
  }

  appendChild(child) {
    this.children.push(child);
    child.parentNode = this;
    return child;
  }

  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }

  click() {
    for (const fn of this.listeners.click || []) fn.call(this, { type: 'click', target: this });
  }

  focus() {
    this.doc.activeElement = this;
  }

  getClientRects() {
    return [{}];
  }

  * walk() {
    yield this;
    for (const c of this.children) if (c.walk) yield* c.walk();
  }

  contains(el) {
    return [...this.walk()].includes(el);
  }

  querySelectorAll(selector) {
    const all = [...this.walk()].slice(1);
    if (selector === '.cmw-sw') return all.filter((e) => e.className === 'cmw-sw');
    return all.filter((e) => /^(A|BUTTON|INPUT)$/.test(e.tagName));
  }
}

class Document extends FakeDocument {
  constructor(win) {
    super();
    this.win = win;
    this.events = [];
    this.listeners = {};
    this.activeElement = null;
    this.documentElement = { lang: 'en' };
    this.currentScript = new FakeElement('script', { 'data-endpoint': '/_consent' });
    this.head = { appendChild: (el) => el };
    this.body.appendChild = (el) => el;
  }

  createElement(tag) {
    return new UiElement(this, tag);
  }

  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }

  contains() {
    return true;
  }

  dispatchEvent(e) {
    this.events.push(e);
    this.win.log.push(['event', e.type, e.detail]);
    return true;
  }
}

// page: the GET /_consent answer; answers: the responses to POST and DELETE in
// turn ('network' for a failed fetch). w.log records, in order, what the page
// saw: ['sub', state], ['event', type, state], ['reload'].
export function fakeWindow(page, answers = [], storage = new FakeStorage()) {
  const w = {
    log: [],
    requests: [],
    timers: [],
    reloads: 0,
    localStorage: storage,
    navigator: { languages: ['en'] },
    location: { href: 'https://shop.example/', reload: () => { w.reloads++; w.log.push(['reload']); } },
    console: { error: (...a) => w.errors.push(a) },
    errors: [],
    addEventListener() {},
    CustomEvent: class {
      constructor(type, init) {
        this.type = type;
        this.detail = init && init.detail;
      }
    },
    fetch: async (url, init = {}) => {
      const method = init.method || 'GET';
      w.requests.push({ url, method, body: init.body });
      if (method === 'GET') return response(200, structuredClone(page));
      const a = answers.shift();
      if (!a || a === 'network') throw new TypeError('Failed to fetch');
      return a;
    },
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      w.timers.push(t);
      return t;
    },
    clearTimeout: (t) => {
      if (t) t.cleared = true;
    },
  };
  w.document = new Document(w);
  // Runs every pending timer once (the sender's retry among them).
  w.runTimers = async () => {
    const due = w.timers.filter((t) => !t.cleared);
    w.timers = [];
    for (const t of due) t.fn();
    await flush();
  };
  // Opens the banner and clicks the button labelled `text`.
  w.click = async (text) => {
    w.ConsentBanner.open();
    const buttons = [...w.ui().walk()].filter((e) => e.tagName === 'BUTTON' && e.textContent === text);
    if (buttons.length !== 1) throw new Error(`no single button "${text}"`);
    buttons[0].click();
    await flush();
  };
  let ui = null;
  w.document.body.appendChild = (el) => {
    ui = el;
    return el;
  };
  w.ui = () => {
    if (!ui) throw new Error('the banner UI was not built');
    return ui;
  };
  w.status = () => (ui ? [...ui.walk()].find((e) => e.className === 'cmw-st').textContent : '');
  return w;
}

// Runs the banner on `w` (as the browser would run the script) and waits for
// its GET /_consent to be answered and applied.
export async function start(w) {
  // compileFunction (not a new context) so that the states the banner hands
  // out compare equal with deepStrictEqual.
  vm.compileFunction(readFileSync(SOURCE, 'utf8'), ['window'])(w);
  w.ConsentBanner.onChange((s) => w.log.push(['sub', s]));
  await flush();
  return w;
}
