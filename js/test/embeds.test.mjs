// Pure logic of js/src/embeds.js: key patterns, what a state refuses, the
// storage and cookie cleaning, and the body of "always allow <service>".
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { FakeStorage } from '../test-helpers/fake-dom.mjs';

const require = createRequire(import.meta.url);
const e = require('../src/embeds.js');

const MAP = {
  functional: { YouTube: { s: ['yt-remote-*', 'ytidb::*'] }, Vimeo: { s: ['vimeo-*'] } },
  analytics: { '': { s: ['amp_*'], c: ['_ga', '_ga_*'] } },
};

describe('embeds.js', () => {
  test('patterns match whole names, * any run, other characters literally', () => {
    const re = e.matcher(['yt-remote-*', 'a.b', '*x*']);
    assert.ok(re.test('yt-remote-device-id'));
    assert.ok(re.test('a.b'));
    assert.ok(!re.test('aXb'));
    assert.ok(re.test('fox'));
    assert.ok(!re.test('yt-remot'));
    assert.equal(e.matcher([]), null);
  });

  test('a per-service choice wins over its category', () => {
    const state = { allowed: ['necessary'], choices: { functional: { YouTube: true } } };
    assert.ok(e.allows(state, 'functional', 'YouTube'));
    assert.ok(!e.allows(state, 'functional', 'Vimeo'));
    assert.ok(!e.allows(state, 'analytics', ''));
    assert.ok(e.allows({ allowed: ['analytics'] }, 'analytics', ''));
  });

  test('what a state refuses: the keys of refused categories and services only', () => {
    const r = e.refused(MAP, { allowed: ['necessary', 'analytics'], choices: { functional: { Vimeo: true } } });
    assert.deepEqual(r, { s: ['yt-remote-*', 'ytidb::*'], c: [] });
    assert.deepEqual(e.refused(MAP, { allowed: ['necessary', 'analytics', 'functional'] }), { s: [], c: [] });
  });

  test('cleaning removes the matching keys of every storage, and keeps the rest', () => {
    const local = new FakeStorage();
    const session = new FakeStorage();
    local.setItem('yt-remote-device-id', '1');
    local.setItem('vimeo-player', '2');
    local.setItem('cart', '3');
    session.setItem('ytidb::LAST_RESULT', '4');
    const gone = e.cleanStorage([local, session], e.matcher(['yt-remote-*', 'ytidb::*']));
    assert.deepEqual(gone.sort(), ['yt-remote-device-id', 'ytidb::LAST_RESULT']);
    assert.equal(local.getItem('vimeo-player'), '2');
    assert.equal(local.getItem('cart'), '3');
    assert.equal(session.getItem('ytidb::LAST_RESULT'), null);
  });

  test('cookies are expired on the host and each parent domain', () => {
    const writes = [];
    const doc = {
      location: { hostname: 'www.example.com' },
      get cookie() { return '_ga=GA1; theme=dark; _ga_X1=2'; },
      set cookie(v) { writes.push(v); },
    };
    assert.deepEqual(e.cleanCookies(doc, e.matcher(['_ga', '_ga_*'])), ['_ga', '_ga_X1']);
    assert.ok(writes.includes('_ga=;path=/;max-age=0'));
    assert.ok(writes.includes('_ga=;path=/;max-age=0;domain=.example.com'));
    assert.ok(!writes.some((w) => w.startsWith('theme=')));
  });

  test('"always allow" keeps the other choices and adds the service', () => {
    const choices = { functional: false, analytics: true, advertising: { Meta: false } };
    assert.deepEqual(e.alwaysBody(choices, 'functional', 'YouTube'), {
      choices: { functional: { YouTube: true }, analytics: true, advertising: { Meta: false } },
    });
    assert.deepEqual(e.alwaysBody(choices, 'advertising', 'TikTok').choices.advertising, { Meta: false, TikTok: true });
    assert.deepEqual(choices.advertising, { Meta: false });
  });
});
