// Saving a choice: request shape, acknowledgement, retries with backoff,
// dropping on 4xx, replacement by a newer choice. Fake fetch and timers.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { FakeStorage } from '../test-helpers/fake-dom.mjs';

const require = createRequire(import.meta.url);
const b = require('../src/banner.js');

const flush = () => new Promise((r) => setImmediate(r));

function response(status, body = null, headers = {}) {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: { get: (k) => headers[k] ?? null },
    json: async () => {
      if (body === null) throw new SyntaxError('no JSON');
      return body;
    },
  };
}

// answers: list of responses (or 'network' for a rejected fetch), used in turn.
function harness(answers, storage = new FakeStorage()) {
  const h = {
    requests: [],
    timers: [],
    acks: [],
    fails: [],
    drops: [],
    storage,
  };
  h.sender = b.createSender({
    url: '/_consent',
    storage: h.storage,
    fetch: async (url, init) => {
      h.requests.push({ url, ...init });
      const a = answers.shift();
      if (!a || a === 'network') throw new TypeError('Failed to fetch');
      return a;
    },
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      h.timers.push(t);
      return t;
    },
    clearTimeout: (t) => { t.cleared = true; },
    onAck: (op, state) => h.acks.push({ op, state }),
    onFail: (op, n) => h.fails.push({ op, n }),
    onDrop: (op, status) => h.drops.push({ op, status }),
  });
  h.fire = async () => {
    const t = h.timers.at(-1);
    assert.ok(t && !t.cleared, 'a retry is scheduled');
    t.fn();
    await flush();
  };
  h.pending = () => b.loadPending(h.storage);
  return h;
}

const ACCEPT = { method: 'POST', body: { action: 'accept_all' }, at: 1 };
const STATE = { decided: true, allowed: ['necessary', 'analytics'] };

describe('createSender', () => {
  test('POSTs JSON with same-origin credentials and acknowledges on 2xx', async () => {
    const h = harness([response(200, { state: STATE, record_id: 'r1' })]);
    h.sender.submit(ACCEPT);
    assert.deepEqual(h.pending(), ACCEPT, 'stored before the answer');
    await flush();
    assert.equal(h.requests.length, 1);
    const r = h.requests[0];
    assert.equal(r.url, '/_consent');
    assert.equal(r.method, 'POST');
    assert.equal(r.credentials, 'same-origin');
    assert.equal(r.headers['Content-Type'], 'application/json');
    assert.equal(r.body, '{"action":"accept_all"}');
    assert.deepEqual(h.acks, [{ op: ACCEPT, state: STATE }]);
    assert.equal(h.pending(), null, 'cleared once acknowledged');
    assert.equal(h.sender.current(), null);
    assert.equal(h.timers.length, 0);
  });

  test('per-category choices are sent as {"choices": {...}}', async () => {
    const h = harness([response(201, { state: STATE })]);
    const body = b.requestBody(null, { analytics: true }, [{ id: 'necessary', required: true },
      { id: 'analytics' }, { id: 'advertising' }]);
    h.sender.submit({ method: 'POST', body, at: 2 });
    await flush();
    assert.equal(h.requests[0].body, '{"choices":{"analytics":true,"advertising":false}}');
    assert.equal(h.acks.length, 1);
  });

  test('withdrawal is a DELETE without a body', async () => {
    const h = harness([response(200, { state: { decided: false } })]);
    h.sender.submit({ method: 'DELETE', at: 3 });
    await flush();
    assert.equal(h.requests[0].method, 'DELETE');
    assert.equal(h.requests[0].body, undefined);
    assert.equal(h.requests[0].headers['Content-Type'], undefined);
    assert.equal(h.acks.length, 1);
  });

  test('a 2xx without JSON still acknowledges', async () => {
    const h = harness([response(204)]);
    h.sender.submit(ACCEPT);
    await flush();
    assert.deepEqual(h.acks, [{ op: ACCEPT, state: undefined }]);
    assert.equal(h.pending(), null);
  });

  test('503 with Retry-After, then network errors, retry with backoff until acknowledged', async () => {
    const h = harness([
      response(503, { error: 'ledger_unavailable' }, { 'Retry-After': '7' }),
      'network',
      response(500),
      response(200, { state: STATE }),
    ]);
    h.sender.submit(ACCEPT);
    await flush();
    assert.deepEqual(h.fails.map((f) => f.n), [0]);
    assert.equal(h.timers[0].ms, 7000, 'Retry-After honoured');
    assert.deepEqual(h.pending(), ACCEPT, 'kept while unacknowledged');
    await h.fire();
    const second = h.timers[1].ms;
    assert.ok(second >= 1500 && second <= 2500, `second wait ${second}`);
    await h.fire();
    const third = h.timers[2].ms;
    assert.ok(third >= 3000 && third <= 5000, `third wait ${third}`);
    await h.fire();
    assert.equal(h.requests.length, 4);
    assert.deepEqual(h.fails.map((f) => f.n), [0, 1, 2]);
    assert.equal(h.acks.length, 1);
    assert.equal(h.pending(), null);
  });

  test('408 and 429 are retried', async () => {
    for (const status of [408, 429]) {
      const h = harness([response(status), response(200, { state: STATE })]);
      h.sender.submit(ACCEPT);
      await flush();
      assert.equal(h.timers.length, 1, String(status));
      await h.fire();
      assert.equal(h.acks.length, 1, String(status));
    }
  });

  test('other 4xx drop the pending choice and do not retry', async () => {
    for (const status of [400, 403, 422]) {
      const h = harness([response(status, { error: 'bad_request', detail: 'x' })]);
      h.sender.submit(ACCEPT);
      await flush();
      assert.deepEqual(h.drops.map((d) => d.status), [status]);
      assert.equal(h.timers.length, 0);
      assert.equal(h.pending(), null);
      assert.equal(h.acks.length, 0);
    }
  });

  test('waits never exceed 60 s however long the outage', async () => {
    const h = harness(Array.from({ length: 12 }, () => 'network'));
    h.sender.submit(ACCEPT);
    await flush();
    for (let i = 0; i < 11; i++) await h.fire();
    assert.ok(h.timers.every((t) => t.ms <= 60000));
    assert.equal(h.timers.at(-1).ms, 60000);
  });

  test('a newer choice replaces a failing one and resets the backoff', async () => {
    const REJECT = { method: 'POST', body: { action: 'reject_all' }, at: 9 };
    const h = harness(['network', 'network', response(200, { state: STATE })]);
    h.sender.submit(ACCEPT);
    await flush();
    await h.fire();
    h.sender.submit(REJECT);
    assert.equal(h.timers[1].cleared, true);
    assert.deepEqual(h.pending(), REJECT);
    await flush();
    assert.equal(h.requests.at(-1).body, '{"action":"reject_all"}');
    assert.deepEqual(h.acks.map((a) => a.op), [REJECT]);
  });

  test('only one request at a time: a choice made during a request is sent after it', async () => {
    const REJECT = { method: 'POST', body: { action: 'reject_all' }, at: 9 };
    const h = harness([response(200, { state: { n: 1 } }), response(200, { state: { n: 2 } })]);
    h.sender.submit(ACCEPT);
    h.sender.submit(REJECT);
    await flush();
    await flush();
    assert.deepEqual(h.requests.map((r) => r.body), ['{"action":"accept_all"}', '{"action":"reject_all"}']);
    assert.deepEqual(h.acks, [{ op: REJECT, state: { n: 2 } }], 'the stale answer is not applied');
    assert.equal(h.pending(), null);
  });

  test('now() retries at once (e.g. back online)', async () => {
    const h = harness(['network', response(200, { state: STATE })]);
    h.sender.submit(ACCEPT);
    await flush();
    h.sender.now();
    await flush();
    assert.equal(h.timers[0].cleared, true);
    assert.equal(h.acks.length, 1);
    h.sender.now(); // nothing pending: no request
    await flush();
    assert.equal(h.requests.length, 2);
  });

  test('a choice left by an earlier page is resent from storage', async () => {
    const storage = new FakeStorage();
    b.savePending(storage, ACCEPT);
    // next page load
    const h = harness([response(200, { state: STATE })], storage);
    const op = b.loadPending(storage);
    assert.deepEqual(op, ACCEPT);
    h.sender.submit(op);
    await flush();
    assert.equal(h.requests[0].body, '{"action":"accept_all"}');
    assert.equal(b.loadPending(storage), null);
  });
});
