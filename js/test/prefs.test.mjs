// Pure helpers of js/src/banner-prefs.js, the preferences chunk.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

const require = createRequire(import.meta.url);
const p = require('../src/banner-prefs.js');
const T = { cookies: 'Cookies', processors: 'Processed by', retention: 'Kept for' };

describe('banner-prefs', () => {
  test('a service is described by its purpose, retention and cookies', () => {
    const s = { name: 'Meta', purpose: 'Ads', retention: '6 months',
      cookies: [{ name: '_fbp', lifetime: '3 months' }, { name: '_fbc', lifetime: '' }] };
    assert.equal(p.serviceText(T, s), 'Ads · Kept for: 6 months · Cookies: _fbp · 3 months, _fbc');
    assert.equal(p.serviceText(T, { name: 'X' }), '');
  });
  test("a category's details leave out what it does not have", () => {
    const c = { cookies: [{ name: '_ga', owner: 'Google', lifetime: '2 years' }], processors: [],
      retention: '' };
    assert.deepEqual(p.categoryDetails(T, c), [['Cookies', ['_ga · Google · 2 years']]]);
    assert.deepEqual(p.categoryDetails(T, {}), []);
  });
  test('does nothing without a document', () => {
    assert.equal(typeof p.join, 'function');
    assert.equal(p.join('a', '', null, 'b'), 'a · b');
  });
});
