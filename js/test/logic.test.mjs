// Pure logic of js/src/banner.js: locale, request bodies, retry timing,
// pending-choice persistence, the state applied before the server answers.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { FakeStorage } from '../test-helpers/fake-dom.mjs';

const require = createRequire(import.meta.url);
const b = require('../src/banner.js');

// As GET /_consent lists them: each with the Consent Mode types it grants.
const CATEGORIES = [
  { id: 'necessary', required: true, consent_mode: ['security_storage'] },
  { id: 'functional', required: false, consent_mode: ['functionality_storage', 'personalization_storage'] },
  { id: 'analytics', required: false, consent_mode: ['analytics_storage'] },
  { id: 'advertising', required: false, consent_mode: ['ad_storage', 'ad_user_data', 'ad_personalization'] },
];

const SERVER_STATE = {
  decided: false,
  choices: { functional: false, analytics: false, advertising: false },
  allowed: ['necessary'],
  needs_prompt: true,
  gpc: false,
  child: false,
  personalised_ads: false,
  regime: 'pipa',
  show_banner: true,
  consent_id: null,
  policy_version: null,
  consent_mode: {
    ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied',
    analytics_storage: 'denied', functionality_storage: 'denied',
    personalization_storage: 'denied', security_storage: 'granted',
  },
};

describe('pickLocale', () => {
  test('data-locale wins over <html lang> and the browser', () => {
    assert.equal(b.pickLocale('en', 'ko-KR', ['ko']), 'en');
  });
  test('<html lang> wins over the browser, reduced to the primary subtag', () => {
    assert.equal(b.pickLocale('', 'ko-KR', ['en-US']), 'ko');
    assert.equal(b.pickLocale(null, 'EN_gb', ['ko']), 'en');
  });
  test('falls back to the browser languages in order', () => {
    assert.equal(b.pickLocale('', '', ['ko-KR', 'en']), 'ko');
    assert.equal(b.pickLocale(undefined, undefined, [undefined, 'en-US']), 'en');
  });
  test('skips values that are no language tag', () => {
    assert.equal(b.pickLocale('x', '*', ['english', 'ko']), 'ko');
  });
  test('empty when nothing is known (the server then reads Accept-Language)', () => {
    assert.equal(b.pickLocale('', '', []), '');
    assert.equal(b.pickLocale(), '');
  });
});

describe('requestBody', () => {
  test('accept_all and reject_all are plain actions', () => {
    assert.deepEqual(b.requestBody('accept_all'), { action: 'accept_all' });
    assert.deepEqual(b.requestBody('reject_all', { analytics: true }, CATEGORIES), { action: 'reject_all' });
  });
  test('saved switches name every optional category, false when missing', () => {
    assert.deepEqual(b.requestBody(null, { analytics: true, necessary: false, bogus: true }, CATEGORIES), {
      choices: { functional: false, analytics: true, advertising: false },
    });
  });
  test('values are booleans', () => {
    assert.deepEqual(b.requestBody(null, { functional: 1, analytics: '' }, CATEGORIES).choices,
      { functional: true, analytics: false, advertising: false });
  });
});

describe('classify', () => {
  test('2xx is an acknowledgement', () => {
    for (const s of [200, 201, 204]) assert.equal(b.classify(s), 'ok');
  });
  test('network errors, 408, 429 and 5xx are retried', () => {
    for (const s of [0, undefined, 408, 429, 500, 502, 503, 504]) assert.equal(b.classify(s), 'retry', String(s));
  });
  test('other 4xx drop the choice', () => {
    for (const s of [400, 401, 403, 404, 405, 409, 413, 415, 422]) assert.equal(b.classify(s), 'drop', String(s));
  });
});

describe('backoff', () => {
  test('doubles from 1 s without jitter in the middle of the range', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => b.backoff(n, null, 0.5)),
      [1000, 2000, 4000, 8000, 16000, 32000]);
  });
  test('is capped at 60 s', () => {
    assert.equal(b.CAP, 60);
    for (const n of [6, 7, 20, 1000]) assert.equal(b.backoff(n, null, 0.5), 60000);
    assert.equal(b.backoff(1000, null, 1), 60000);
  });
  test('jitter stays within +/-25 %', () => {
    assert.equal(b.backoff(2, null, 0), 3000);
    assert.equal(b.backoff(2, null, 1), 5000);
    for (let i = 0; i < 50; i++) {
      const ms = b.backoff(3, null);
      assert.ok(ms >= 6000 && ms <= 10000, String(ms));
    }
  });
  test('Retry-After seconds replace the schedule', () => {
    assert.equal(b.backoff(0, '30', 0.5), 30000);
    assert.equal(b.backoff(5, ' 7 ', 0), 7000);
  });
  test('Retry-After is capped at 60 s and waits at least 1 s', () => {
    assert.equal(b.backoff(0, '3600', 0.5), 60000);
    assert.equal(b.backoff(3, '0', 0.5), 1000);
  });
  test('an unusable Retry-After falls back to the schedule', () => {
    for (const v of [null, undefined, '', 'soon', '-5', '1.5', 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      assert.equal(b.backoff(2, v, 0.5), 4000, String(v));
    }
  });
});

describe('pending choice persistence', () => {
  const op = { method: 'POST', body: { action: 'reject_all' }, at: 1 };

  test('saves under consent_mw.pending and loads it back', () => {
    const s = new FakeStorage();
    assert.equal(b.KEY, 'consent_mw.pending');
    assert.equal(b.savePending(s, op), true);
    assert.deepEqual(JSON.parse(s.getItem('consent_mw.pending')), op);
    assert.deepEqual(b.loadPending(s), op);
  });
  test('a withdrawal has no body', () => {
    const s = new FakeStorage();
    b.savePending(s, { method: 'DELETE', at: 2 });
    assert.deepEqual(b.loadPending(s), { method: 'DELETE', at: 2 });
  });
  test('nothing stored is null', () => {
    assert.equal(b.loadPending(new FakeStorage()), null);
  });
  test('corrupt or foreign values are removed', () => {
    for (const bad of ['{', '1', '"x"', '{"method":"PUT","body":{}}', '{"method":"POST"}', '{"method":"POST","body":"x"}']) {
      const s = new FakeStorage();
      s.setItem(b.KEY, bad);
      assert.equal(b.loadPending(s), null, bad);
      assert.equal(s.getItem(b.KEY), null, bad);
    }
  });
  test('clearPending leaves a newer choice (e.g. from another tab) alone', () => {
    const s = new FakeStorage();
    b.savePending(s, op);
    const newer = { method: 'DELETE', at: 5 };
    b.savePending(s, newer);
    b.clearPending(s, op);
    assert.deepEqual(b.loadPending(s), newer);
    b.clearPending(s, newer);
    assert.equal(s.getItem(b.KEY), null);
  });
  test('missing or throwing storage never throws', () => {
    const throwing = {
      getItem() { throw new Error('SecurityError'); },
      setItem() { throw new Error('QuotaExceededError'); },
      removeItem() { throw new Error('SecurityError'); },
    };
    for (const s of [null, undefined, throwing]) {
      assert.equal(b.savePending(s, op), false);
      assert.equal(b.loadPending(s), null);
      assert.doesNotThrow(() => b.clearPending(s, op));
    }
  });
});

describe('localState (a choice the server has not acknowledged)', () => {
  test('accept_all allows every category and grants all Consent Mode types', () => {
    const s = b.localState(SERVER_STATE, CATEGORIES, { method: 'POST', body: { action: 'accept_all' } });
    assert.deepEqual(s.allowed, ['necessary', 'functional', 'analytics', 'advertising']);
    assert.deepEqual(s.choices, { functional: true, analytics: true, advertising: true });
    assert.equal(s.decided, true);
    assert.equal(s.needs_prompt, false);
    assert.equal(s.pending, true);
    assert.equal(s.personalised_ads, true);
    assert.deepEqual(Object.keys(s.consent_mode).sort(), Object.keys(SERVER_STATE.consent_mode).sort());
    assert.ok(Object.values(s.consent_mode).every((v) => v === 'granted'));
  });
  test('reject_all allows only the required categories', () => {
    const s = b.localState(SERVER_STATE, CATEGORIES, { method: 'POST', body: { action: 'reject_all' } });
    assert.deepEqual(s.allowed, ['necessary']);
    assert.deepEqual(s.choices, { functional: false, analytics: false, advertising: false });
    assert.deepEqual(s.consent_mode, SERVER_STATE.consent_mode);
    assert.equal(s.decided, true);
  });
  test('per-category choices map to their Consent Mode types', () => {
    const s = b.localState(SERVER_STATE, CATEGORIES,
      { method: 'POST', body: { choices: { functional: false, analytics: true, advertising: false } } });
    assert.deepEqual(s.allowed, ['necessary', 'analytics']);
    assert.equal(s.consent_mode.analytics_storage, 'granted');
    assert.equal(s.consent_mode.ad_storage, 'denied');
    assert.equal(s.consent_mode.functionality_storage, 'denied');
    assert.equal(s.consent_mode.security_storage, 'granted');
  });
  test('with GPC, accept_all leaves advertising off', () => {
    const s = b.localState({ ...SERVER_STATE, gpc: true }, CATEGORIES,
      { method: 'POST', body: { action: 'accept_all' } });
    assert.deepEqual(s.allowed, ['necessary', 'functional', 'analytics']);
    assert.equal(s.choices.advertising, false);
    assert.equal(s.personalised_ads, false);
    for (const k of ['ad_storage', 'ad_user_data', 'ad_personalization']) assert.equal(s.consent_mode[k], 'denied');
    assert.equal(s.consent_mode.analytics_storage, 'granted');
    assert.equal(s.gpc, true);
  });
  test('with GPC, switching advertising on explicitly overrides the signal', () => {
    const s = b.localState({ ...SERVER_STATE, gpc: true }, CATEGORIES,
      { method: 'POST', body: { choices: { functional: false, analytics: false, advertising: true } } });
    assert.deepEqual(s.allowed, ['necessary', 'advertising']);
    assert.equal(s.personalised_ads, true);
    assert.equal(s.consent_mode.ad_personalization, 'granted');
  });
  test('a child never gets advertising', () => {
    for (const body of [{ action: 'accept_all' }, { choices: { advertising: true } }]) {
      const s = b.localState({ ...SERVER_STATE, child: true }, CATEGORIES, { method: 'POST', body });
      assert.equal(s.allowed.includes('advertising'), false);
      assert.equal(s.personalised_ads, false);
      assert.equal(s.consent_mode.ad_storage, 'denied');
    }
  });
  test('a withdrawal is a recorded choice with everything optional off', () => {
    const accepted = b.localState(SERVER_STATE, CATEGORIES, { method: 'POST', body: { action: 'accept_all' } });
    const s = b.localState(accepted, CATEGORIES, { method: 'DELETE' });
    assert.deepEqual(s.allowed, ['necessary']);
    assert.deepEqual(s.choices, { functional: false, analytics: false, advertising: false });
    assert.equal(s.decided, true);
    assert.equal(s.needs_prompt, false);
    assert.deepEqual(s.consent_mode, SERVER_STATE.consent_mode);
  });
  test("a category's own consent_mode list (from the server) is what it grants", () => {
    const cats = [{ id: 'necessary', required: true, consent_mode: ['security_storage'] },
      { id: 'marketing', consent_mode: ['ad_user_data'] },
      { id: 'analytics', consent_mode: [] }];
    const s = b.localState(SERVER_STATE, cats, { method: 'POST', body: { action: 'accept_all' } });
    assert.deepEqual(s.allowed, ['necessary', 'marketing', 'analytics']);
    assert.equal(s.consent_mode.ad_user_data, 'granted');
    assert.equal(s.consent_mode.ad_storage, 'denied');
    assert.equal(s.consent_mode.analytics_storage, 'denied');
    assert.equal(s.consent_mode.security_storage, 'granted');
    assert.equal(Object.keys(s.consent_mode).length, 7);
  });
  test('does not modify the state it starts from', () => {
    const before = JSON.stringify(SERVER_STATE);
    b.localState(SERVER_STATE, CATEGORIES, { method: 'POST', body: { action: 'accept_all' } });
    assert.equal(JSON.stringify(SERVER_STATE), before);
  });
});

describe('changeNotice', () => {
  const change = { version: '2027-01', effective: '2027-01-15', major: true };
  test('fills {date} with the date written for the locale', () => {
    assert.equal(b.changeNotice('Our privacy policy changes on {date}.', change, 'en'),
      'Our privacy policy changes on January 15, 2027.');
    assert.equal(b.changeNotice('개인정보처리방침이 {date}에 변경됩니다.', change, 'ko'),
      '개인정보처리방침이 2027년 1월 15일에 변경됩니다.');
  });
  test('keeps a date it cannot parse as it came', () => {
    assert.equal(b.changeNotice('from {date}', { effective: 'soon' }, 'en'), 'from soon');
  });
  test('empty without a pending change or a text', () => {
    assert.equal(b.changeNotice('x {date}', null, 'en'), '');
    assert.equal(b.changeNotice('', change, 'en'), '');
  });
});

describe('safeUrl', () => {
  test('resolves relative and http(s) URLs', () => {
    assert.equal(b.safeUrl('/_consent/policy?locale=ko', 'https://shop.example/a/b'),
      'https://shop.example/_consent/policy?locale=ko');
    assert.equal(b.safeUrl('http://x.example/p', 'https://shop.example/'), 'http://x.example/p');
  });
  test('refuses script and data URLs and garbage', () => {
    for (const u of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,x', 'vbscript:x']) {
      assert.equal(b.safeUrl(u, 'https://shop.example/'), '', u);
    }
    assert.equal(b.safeUrl('http://[', 'https://shop.example/'), '');
  });
});

describe('per-service choices', () => {
  test('a category switched off with services on is sent service by service', () => {
    const body = b.requestBody(null, {
      analytics: true, advertising: false, 'advertising/Meta': true, 'advertising/TikTok': false,
      'advertising/Google Ads / DoubleClick': true, 'analytics/Hotjar': false,
    }, CATEGORIES);
    assert.deepEqual(body.choices, {
      functional: false,
      analytics: true,
      advertising: { Meta: true, TikTok: false, 'Google Ads / DoubleClick': true },
    });
  });
  test('no service on is the category refused; the whole category wins over its services', () => {
    assert.equal(b.requestBody(null, { 'advertising/Meta': false }, CATEGORIES).choices.advertising, false);
    assert.equal(b.requestBody(null, { advertising: true, 'advertising/Meta': false }, CATEGORIES)
      .choices.advertising, true);
    assert.equal(b.requestBody(null, { 'necessary/X': true }, CATEGORIES).choices.necessary, undefined);
  });
  test('a pending per-service choice allows those services, not the category', () => {
    const s = b.localState(SERVER_STATE, CATEGORIES,
      { method: 'POST', body: { choices: { advertising: { Meta: true, TikTok: false } } } });
    assert.deepEqual(s.allowed, ['necessary', 'advertising/Meta']);
    assert.deepEqual(s.choices.advertising, { Meta: true, TikTok: false });
    assert.equal(s.personalised_ads, false);
    assert.equal(s.consent_mode.ad_storage, 'denied');
  });
  test('a child gets no advertising service either', () => {
    const s = b.localState({ ...SERVER_STATE, child: true }, CATEGORIES,
      { method: 'POST', body: { choices: { advertising: { Meta: true } } } });
    assert.deepEqual(s.allowed, ['necessary']);
  });
});
