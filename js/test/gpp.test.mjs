// The GPP strings the server writes, decoded by the IAB's own library (@iabgpp/cmpapi),
// and the page's __gpp CMP API (src/consent_mw/static/consent-gpp.js) in a fake window.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { GppModel } from '@iabgpp/cmpapi';

const here = path.dirname(fileURLToPath(import.meta.url));
const CASES = JSON.parse(readFileSync(path.join(here, 'fixtures', 'gpp-strings.json'), 'utf8'));
const API = readFileSync(path.join(here, '..', '..', 'src', 'consent_mw', 'static', 'consent-gpp.js'), 'utf8');

describe('the server\'s GPP strings, decoded by @iabgpp/cmpapi', () => {
  for (const c of CASES) {
    const name = `${c.sections.join('+')} optedOut=${c.optedOut} gpc=${c.gpc} mspa=${c.mspa}`;
    test(name, () => {
      const model = new GppModel(c.gppString);
      const ids = { usnat: 7, usca: 8 };
      assert.deepEqual(model.getSectionIds(), c.sections.map((s) => ids[s]).sort((a, b) => a - b));
      const decoded = model.toObject();
      assert.deepEqual(decoded, c.parsedSections);
      for (const s of c.sections) {
        assert.equal(decoded[s].SaleOptOut, c.optedOut ? 1 : 2);
        assert.equal(decoded[s].SharingOptOut, c.optedOut ? 1 : 2);
        assert.equal(decoded[s].Gpc, c.gpc);
        assert.equal(decoded[s].MspaCoveredTransaction, c.mspa ? 1 : 2);
      }
      if (decoded.usnat) assert.equal(decoded.usnat.TargetedAdvertisingOptOut, c.optedOut ? 1 : 2);
      // Round trip: the library writes the same string back.
      const again = new GppModel();
      again.decode(c.gppString);
      assert.equal(again.encode(), c.gppString);
    });
  }
});

// A window with just what consent-gpp.js touches.
function page(data, { queue } = {}) {
  const listeners = {};
  const docListeners = {};
  const body = { children: [], appendChild(el) { this.children.push(el); } };
  const frames = {};
  const doc = {
    body,
    getElementById: (id) => (id === 'consent-gpp' && data ? { textContent: JSON.stringify(data) } : null),
    createElement: () => ({ setAttribute() {}, set name(v) { frames[v] = this; } }),
    addEventListener: (t, f) => { (docListeners[t] = docListeners[t] || []).push(f); },
  };
  const win = {
    frames,
    addEventListener: (t, f) => { (listeners[t] = listeners[t] || []).push(f); },
  };
  if (queue) win.__gpp = Object.assign(() => {}, { queue });
  vm.runInNewContext(API, { window: win, document: doc, JSON, Object, Array, String });
  const call = (command, parameter) => {
    let out;
    win.__gpp(command, (value, success) => { out = [value, success]; }, parameter);
    return out;
  };
  const change = (ad) => docListeners['consent:change'].forEach((f) => f({
    detail: { consent_mode: { ad_storage: ad ? 'granted' : 'denied' } },
  }));
  const message = (data, source) => listeners.message.forEach((f) => f({ data, source }));
  return { win, call, change, frames, message };
}

const pick = (c) => ({
  gppString: c.gppString,
  sectionList: [7],
  applicableSections: [7],
  supportedAPIs: ['7:usnat', '8:usca'],
  parsedSections: c.parsedSections,
});
const usnat = (optedOut, gpc) => CASES.find((c) => c.sections.join() === 'usnat' && c.optedOut === optedOut
  && c.gpc === gpc && !c.mspa);
const DATA = { now: true, prompt: false, granted: pick(usnat(false, false)), denied: pick(usnat(true, false)) };

describe('__gpp (CMP API 1.1)', () => {
  test('ping answers with the spec\'s fields', () => {
    const [ping, ok] = page(DATA).call('ping');
    assert.equal(ok, true);
    assert.equal(ping.gppVersion, '1.1');
    assert.equal(ping.cmpStatus, 'loaded');
    assert.equal(ping.signalStatus, 'ready');
    assert.equal(ping.cmpDisplayStatus, 'hidden');
    assert.deepEqual(ping.applicableSections, [7]);
    assert.equal(ping.gppString, DATA.denied.gppString);
    assert.equal(new GppModel(ping.gppString).getFieldValue('usnat', 'SaleOptOut'), 1);
  });

  test('getGPPData, hasSection, getSection, getField; unknown commands fail', () => {
    const p = page(DATA);
    const [data, ok] = p.call('getGPPData');
    assert.equal(ok, true);
    assert.equal(data.gppString, DATA.denied.gppString);
    assert.deepEqual(data.applicableSections, [7]);
    assert.deepEqual(p.call('hasSection', 'usnat'), [true, true]);
    assert.deepEqual(p.call('hasSection', 'usca'), [false, true]);
    assert.equal(p.call('getSection', 'usnat')[0].SaleOptOut, 1);
    assert.deepEqual(p.call('getField', 'usnat.SaleOptOut'), [1, true]);
    assert.deepEqual(p.call('getField', 'usnat'), [null, true]);
    assert.deepEqual(p.call('bogus'), [null, false]);
  });

  test('listeners hear the change a choice makes, and can be removed', () => {
    const p = page(DATA);
    const events = [];
    let id;
    p.win.__gpp('addEventListener', (e, ok) => { assert.equal(ok, true); id = e.listenerId; events.push([e.eventName, e.data]); });
    assert.deepEqual(events, [['listenerRegistered', true]]);
    p.change(true);
    assert.deepEqual(events.slice(1), [['signalStatus', 'not ready'], ['sectionChange', 'usnat'], ['signalStatus', 'ready']]);
    assert.equal(new GppModel(p.call('ping')[0].gppString).getFieldValue('usnat', 'SaleOptOut'), 2);
    assert.deepEqual(p.call('removeEventListener', id), [true, true]);
    assert.deepEqual(p.call('removeEventListener', id), [false, true]);
    p.change(false);
    assert.equal(events.length, 4);
  });

  test('calls a stub queued before it ran are answered', () => {
    const got = [];
    page(DATA, { queue: [['ping', (v, ok) => got.push([v.gppVersion, ok])]] });
    assert.deepEqual(got, [['1.1', true]]);
  });

  test('framed callers: the locator frame and __gppCall messages', () => {
    const p = page(DATA);
    assert.ok(p.frames.__gppLocator);
    const replies = [];
    p.message({ __gppCall: { command: 'ping', callId: 'a1', version: '1.1' } }, { postMessage: (m) => replies.push(m) });
    assert.equal(replies[0].__gppReturn.callId, 'a1');
    assert.equal(replies[0].__gppReturn.success, true);
    assert.equal(replies[0].__gppReturn.returnValue.gppVersion, '1.1');
    p.message('not json', { postMessage: () => assert.fail('answered garbage') });
  });

  test('without the data block nothing is defined', () => {
    assert.equal(page(null).win.__gpp, undefined);
  });
});
