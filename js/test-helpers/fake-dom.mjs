// A tiny stand-in for the few DOM calls the activation code makes.

export class FakeElement {
  constructor(tag, attrs = {}, text = '') {
    this.tagName = tag.toUpperCase();
    this._attrs = new Map(Object.entries(attrs).map(([k, v]) => [k, String(v)]));
    this.textContent = text;
    this.parentNode = null;
    this.nonce = '';
    this.async = true; // like a script made by createElement
    this.onload = null;
    this.onerror = null;
  }

  get attributes() {
    return [...this._attrs].map(([name, value]) => ({ name, value }));
  }

  getAttribute(name) {
    return this._attrs.has(name) ? this._attrs.get(name) : null;
  }

  setAttribute(name, value) {
    this._attrs.set(name, String(value));
  }

  hasAttribute(name) {
    return this._attrs.has(name);
  }

  removeAttribute(name) {
    this._attrs.delete(name);
  }

  cloneNode() {
    const copy = new FakeElement(this.tagName.toLowerCase(), Object.fromEntries(this._attrs));
    copy.nonce = this.nonce;
    return copy;
  }

  // Simulates the end of loading of an external script.
  finishLoading(ok = true) {
    const handler = ok ? this.onload : this.onerror;
    if (handler) handler.call(this, { type: ok ? 'load' : 'error' });
  }
}

export class FakeDocument {
  constructor() {
    this.children = [];
    this.log = []; // what was inserted, in order
    const doc = this;
    this.body = {
      replaceChild(neu, old) {
        const i = doc.children.indexOf(old);
        if (i < 0) throw new Error('not a child');
        doc.children[i] = neu;
        old.parentNode = null;
        neu.parentNode = this;
        doc.log.push(neu);
        return old;
      },
    };
  }

  add(el) {
    el.parentNode = this.body;
    this.children.push(el);
    return el;
  }

  createElement(tag) {
    return new FakeElement(tag);
  }

  querySelectorAll(selector) {
    if (selector !== '[data-consent-category]') throw new Error(`unexpected selector ${selector}`);
    return this.children.filter((el) => el.hasAttribute('data-consent-category'));
  }
}

export class FakeStorage {
  constructor() {
    this.map = new Map();
  }

  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }

  setItem(k, v) {
    this.map.set(k, String(v));
  }

  removeItem(k) {
    this.map.delete(k);
  }

  get length() {
    return this.map.size;
  }

  key(i) {
    const keys = [...this.map.keys()];
    return i < keys.length ? keys[i] : null;
  }
}
