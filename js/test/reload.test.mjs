// Under csp = "enforce" the page's CSP was compiled from the decision it was
// served under and cannot widen: once the server acknowledges a choice that
// allows another set of categories, the banner reloads the page, once.
// The whole banner runs on a fake window (test-helpers/fake-window.mjs).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { afterEach, describe, test } from 'node:test';
import { FakeElement, FakeStorage } from '../test-helpers/fake-dom.mjs';
import { fakeWindow, response, start } from '../test-helpers/fake-window.mjs';

const require = createRequire(import.meta.url);
const b = require('../src/banner.js');

const TEXTS = {
  title: 'Cookies', intro: 'We ask first.', accept_all: 'Accept all', reject_all: 'Reject all',
  preferences: 'Preferences', save: 'Save', back: 'Back', withdraw: 'Withdraw', close: 'Close',
  reopen: 'Cookie settings', saved: 'Saved', pending: 'Saving…', always_on: 'Always on',
};
const CATEGORIES = [
  { id: 'necessary', title: 'Necessary', required: true },
  { id: 'analytics', title: 'Analytics' },
  { id: 'advertising', title: 'Advertising' },
];
const ALL = ['necessary', 'analytics', 'advertising'];

// A state as the server sends it; `csp` left out when undefined (older servers).
function state(allowed, csp, more = {}) {
  const s = {
    decided: allowed.length > 1, needs_prompt: false, show_banner: false, allowed,
    choices: { analytics: allowed.includes('analytics'), advertising: allowed.includes('advertising') },
    ...more,
  };
  if (csp !== undefined) s.csp = csp;
  return s;
}

// The banner reports its own errors on the console instead of throwing.
let pages = [];
afterEach(() => {
  const errors = pages.flatMap((w) => w.errors);
  pages = [];
  assert.deepEqual(errors, []);
});

const ack = (s) => response(200, { state: s, record_id: 'r1' });

// A page served under `first` (its GET /_consent answer) with a neutralised
// inline analytics tag.
async function page(first, answers, storage) {
  const w = fakeWindow({ state: first, texts: TEXTS, categories: CATEGORIES, locale: 'en' }, answers, storage);
  pages.push(w);
  w.tag = w.document.add(new FakeElement('script', { type: 'text/plain', 'data-consent-category': 'analytics' },
    'window.counted = (window.counted || 0) + 1'));
  return start(w);
}

const kinds = (w) => w.log.map((e) => e[0]);

describe('needsReload', () => {
  test('only under enforce, and only when the allowed set differs from the served one', () => {
    const served = state(['necessary'], 'enforce');
    assert.equal(b.needsReload(served, state(ALL, 'enforce')), true, 'wider');
    assert.equal(b.needsReload(state(ALL, 'enforce'), state(['necessary'], 'enforce')), true, 'narrower');
    assert.equal(b.needsReload(state(['necessary', 'analytics'], 'enforce'),
      state(['necessary', 'advertising'], 'enforce')), true, 'as many, but others');
    assert.equal(b.needsReload(served, state(['necessary'], 'enforce')), false, 'same set');
    assert.equal(b.needsReload(state(['analytics', 'necessary'], 'enforce'),
      state(['necessary', 'analytics'], 'enforce')), false, 'same set, other order');
    for (const csp of ['off', 'report', undefined]) {
      assert.equal(b.needsReload(state(['necessary'], csp), state(ALL, csp)), false, String(csp));
    }
    assert.equal(b.needsReload(null, state(ALL, 'enforce')), false, 'no served state (GET failed)');
    assert.equal(b.needsReload(served, undefined), false, 'an acknowledgement without a state');
  });
});

describe('reload under csp = "enforce"', () => {
  test('a wider choice reloads once, after subscribers and consent:change got the state', async () => {
    const after = state(ALL, 'enforce');
    const w = await page(state(['necessary'], 'enforce'), [ack(after)]);
    assert.equal(w.reloads, 0);
    await w.click('Accept all');
    assert.equal(w.requests.at(-1).method, 'POST');
    assert.equal(w.reloads, 1);
    assert.deepEqual(w.log.slice(-3), [['sub', after], ['event', 'consent:change', after], ['reload']]);
    assert.equal(w.document.log.length, 0,
      'not re-activated in place: the CSP would refuse it and it would run twice');
    assert.equal(b.loadPending(w.localStorage), null, 'acknowledged, so not resent after the reload');
  });

  test('a withdrawal (DELETE) reloads once so that running tags stop', async () => {
    const after = state(['necessary'], 'enforce', { decided: true });
    const w = await page(state(['necessary', 'analytics'], 'enforce'), [ack(after)]);
    await w.click('Withdraw');
    assert.equal(w.requests.at(-1).method, 'DELETE');
    assert.equal(w.reloads, 1);
    assert.deepEqual(w.log.slice(-2), [['event', 'consent:change', after], ['reload']]);
  });

  test('a narrower choice (Reject all) reloads too', async () => {
    const w = await page(state(ALL, 'enforce'), [ack(state(['necessary'], 'enforce'))]);
    await w.click('Reject all');
    assert.equal(w.reloads, 1);
  });

  test('re-saving the same set does not reload, in whatever order the server lists it', async () => {
    const w = await page(state(['necessary', 'analytics'], 'enforce'),
      [ack(state(['analytics', 'necessary'], 'enforce'))]);
    w.ConsentBanner.open('preferences');
    await w.click('Save');
    assert.equal(w.requests.at(-1).body, '{"choices":{"analytics":true,"advertising":false}}');
    assert.equal(w.reloads, 0);
    assert.equal(w.status(), 'Saved');
  });

  test('reloads exactly once, however many choices are acknowledged before the page goes', async () => {
    const w = await page(state(['necessary'], 'enforce'),
      [ack(state(ALL, 'enforce')), ack(state(['necessary', 'analytics'], 'enforce'))]);
    await w.click('Accept all');
    w.ConsentBanner.open('preferences');
    await w.click('Save');
    assert.equal(w.requests.filter((r) => r.method === 'POST').length, 2);
    assert.equal(w.reloads, 1);
  });

  test('a choice saved while the server is unreachable does not reload before it is acknowledged', async () => {
    const after = state(ALL, 'enforce');
    const w = await page(state(['necessary'], 'enforce'), ['network', response(503), ack(after)]);
    await w.click('Accept all');
    assert.equal(w.reloads, 0);
    const local = w.ConsentBanner.state;
    assert.equal(local.pending, true);
    assert.deepEqual(local.allowed, ALL, 'applied locally meanwhile');
    assert.equal(w.document.log.length, 0, 'but not re-activated in place: the reload brings the tags');
    assert.deepEqual(w.log.at(-1), ['event', 'consent:change', local]);
    assert.equal(w.status(), 'Saving…');
    assert.deepEqual(b.loadPending(w.localStorage).body, { action: 'accept_all' });
    await w.runTimers(); // the 503
    assert.equal(w.reloads, 0);
    await w.runTimers(); // acknowledged
    assert.equal(w.reloads, 1);
    assert.deepEqual(w.log.slice(-2), [['event', 'consent:change', after], ['reload']]);
  });

  test('a choice left pending by an earlier page reloads once acknowledged; the reloaded page does not', async () => {
    const storage = new FakeStorage();
    b.savePending(storage, { method: 'POST', body: { action: 'accept_all' }, at: 1 });
    const after = state(ALL, 'enforce');
    const w = await page(state(['necessary'], 'enforce'), [ack(after)], storage);
    assert.equal(w.requests.map((r) => r.method).join(), 'GET,POST');
    assert.equal(w.reloads, 1);
    // The reloaded page is served under the new decision: nothing is resent,
    // and saving the same choice again does not reload.
    const again = await page(after, [ack(state(ALL, 'enforce'))], storage);
    assert.equal(again.requests.map((r) => r.method).join(), 'GET');
    await again.click('Accept all');
    assert.equal(again.reloads, 0);
  });

  test('a refused choice (4xx) does not reload', async () => {
    const w = await page(state(['necessary'], 'enforce'), [response(400, { error: 'bad_request' })]);
    await w.click('Accept all');
    assert.equal(w.reloads, 0);
    assert.deepEqual(w.ConsentBanner.state.allowed, ['necessary']);
    assert.deepEqual(w.errors, [['consent_mw banner:', 'choice refused: 400']]);
    w.errors.length = 0;
  });
});

describe('no reload without csp = "enforce"', () => {
  for (const csp of ['report', 'off', undefined]) {
    test(`csp ${csp === undefined ? 'absent (older server)' : `= "${csp}"`}: re-activation in place`, async () => {
      const w = await page(state(['necessary'], csp), [ack(state(ALL, csp)),
        ack(state(['necessary'], csp, { decided: true }))]);
      await w.click('Accept all');
      assert.equal(w.reloads, 0);
      assert.equal(w.document.log.length, 1, 'the neutralised tag re-activated in place');
      assert.equal(w.document.log[0].getAttribute('type'), null);
      assert.equal(w.status(), 'Saved');
      await w.click('Withdraw');
      assert.equal(w.reloads, 0);
      assert.equal(kinds(w).includes('reload'), false);
    });
  }
});

describe('the consent API address', () => {
  test("is the page's own host, not the document's base URL (a <base href> may name another)", async () => {
    const w = await page(state(['necessary'], 'off'), []);
    assert.equal(w.requests[0].url, 'https://shop.example/_consent?locale=en');
  });
});
