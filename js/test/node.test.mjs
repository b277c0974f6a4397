// The files as a whole: harmless without a DOM, never throwing into a host
// page, and the committed build up to date, CSP-clean and within budget.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import vm from 'node:vm';
import { BUDGET, PATHS, check } from '../build.mjs';

const require = createRequire(import.meta.url);
const SOURCES = { source: PATHS.srcJs, shipped: PATHS.outJs };

describe('without a document', () => {
  test('requiring the source exports the internals and defines no global', () => {
    const b = require(PATHS.srcJs);
    assert.equal(typeof b.createActivator, 'function');
    assert.equal(globalThis.ConsentBanner, undefined);
    assert.equal(globalThis.dataLayer, undefined);
  });

  for (const [name, file] of Object.entries(SOURCES)) {
    test(`the ${name} file is a no-op in a context without window or document`, () => {
      const context = vm.createContext({});
      assert.doesNotThrow(() => vm.runInContext(readFileSync(file, 'utf8'), context));
      assert.equal(context.ConsentBanner, undefined);
      assert.deepEqual(Object.keys(context), []);
    });

    test(`the ${name} file does not throw when the page's DOM misbehaves`, () => {
      const errors = [];
      const window = {
        console: { error: (...a) => errors.push(a), warn() {} },
        document: {
          get currentScript() { throw new Error('boom'); },
        },
      };
      const context = vm.createContext({ window });
      assert.doesNotThrow(() => vm.runInContext(readFileSync(file, 'utf8'), context));
      assert.equal(errors.length, 1, 'reported on the console instead');
    });
  }
});

describe('the shipped build', () => {
  test('is up to date with js/src and within the gzip budget (node js/build.mjs --check)', () => {
    const { problems, sizes } = check();
    assert.deepEqual(problems, []);
    assert.ok(sizes.gzip <= BUDGET);
    assert.equal(BUDGET, 6000);
  });

  test('carries no export of the internals', () => {
    assert.doesNotMatch(readFileSync(PATHS.outJs, 'utf8'), /module\.exports|createSender/);
  });

  for (const [name, file] of Object.entries({ ...SOURCES, css: PATHS.srcCss })) {
    test(`the ${name} file avoids what a strict CSP or XSS safety forbids`, () => {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      for (const bad of [/\beval\s*\(/, /new\s+Function\b/, /\bFunction\s*\(/, /innerHTML/, /outerHTML/,
        /insertAdjacentHTML/, /document\.write/, /\.style\b/, /setAttribute\(\s*['"]style/,
        /createElement\(\s*['"]style/, /setTimeout\(\s*['"`]/, /setInterval/, /cssText/, /document\.cookie/]) {
        assert.doesNotMatch(code, bad, String(bad));
      }
    });
  }
});
