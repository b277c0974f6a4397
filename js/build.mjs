// Builds the banner into src/consent_mw/static/ and enforces the size budget.
//
//   node js/build.mjs           minify js/src/banner.js with terser and banner.css with
//                               esbuild (pinned devDependencies: run `npm ci` in js/
//                               first), write the static files and js/build-manifest.json,
//                               print sizes, exit 1 if JS + CSS exceed the gzip budget.
//                               The preferences chunk (js/src/banner-prefs.js, loaded
//                               only when a visitor opens the preferences) is built
//                               the same way, measured on its own and outside the
//                               budget of what every page loads.
//   node js/build.mjs --check   build nothing and need no npm package: exit 1 unless
//                               the committed static files were built from the current
//                               sources (hashes in js/build-manifest.json) and fit the
//                               budget.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

export const BUDGET = 6000; // bytes, gzip -9 of the JS plus gzip -9 of the CSS
// The embed placeholders' buttons and the storage cleaner (js/src/embeds.js): a
// separate script, injected only where a policy has embeds or storage keys.
export const EMBEDS_BUDGET = 1600; // bytes, gzip -9 of consent-embeds.js

export const PATHS = {
  srcJs: path.join(here, 'src', 'banner.js'),
  srcCss: path.join(here, 'src', 'banner.css'),
  srcPrefs: path.join(here, 'src', 'banner-prefs.js'),
  outJs: path.join(root, 'src', 'consent_mw', 'static', 'consent-banner.js'),
  outCss: path.join(root, 'src', 'consent_mw', 'static', 'consent-banner.css'),
  outPrefs: path.join(root, 'src', 'consent_mw', 'static', 'consent-banner-prefs.js'),
  srcEmbeds: path.join(here, 'src', 'embeds.js'),
  outEmbeds: path.join(root, 'src', 'consent_mw', 'static', 'consent-embeds.js'),
  manifest: path.join(here, 'build-manifest.json'),
  pkg: path.join(here, 'package.json'),
};

// Part of the source hash: changing an option makes the committed build stale.
const OPTIONS = {
  // terser: ES2017 output. `module` is defined away so that the shipped file
  // drops the export of the internals that the unit tests use.
  js: {
    ecma: 2017,
    compress: { global_defs: { module: undefined }, passes: 2, unsafe_arrows: true },
    mangle: true,
    format: { comments: false, ascii_only: false },
  },
  // esbuild
  css: { loader: 'css', minify: true, target: ['chrome90', 'firefox90', 'safari14'], legalComments: 'none' },
};

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

export function gzipSize(buf) {
  return gzipSync(buf, { level: 9 }).length;
}

// The pinned versions of the minifiers, from package.json.
function pinned() {
  const deps = JSON.parse(readFileSync(PATHS.pkg, 'utf8')).devDependencies;
  return { esbuild: deps.esbuild, terser: deps.terser };
}

// Hash of everything the output depends on: both sources, the options and the
// pinned minifier versions.
export function sourceHash() {
  return sha256(JSON.stringify([
    readFileSync(PATHS.srcJs, 'utf8'),
    readFileSync(PATHS.srcCss, 'utf8'),
    readFileSync(PATHS.srcPrefs, 'utf8'),
    readFileSync(PATHS.srcEmbeds, 'utf8'),
    OPTIONS,
    pinned(),
  ]));
}

export function embedsSizes(js) {
  return { embeds: js.length, embedsGzip: gzipSize(js) };
}

export function sizes(js, css, prefs) {
  const s = { js: js.length, css: css.length, jsGzip: gzipSize(js), cssGzip: gzipSize(css) };
  s.gzip = s.jsGzip + s.cssGzip;
  if (prefs) {
    s.prefs = prefs.length;
    s.prefsGzip = gzipSize(prefs);
  }
  return s;
}

function report(s) {
  const pad = (n) => String(n).padStart(6);
  console.log(`consent-banner.js   ${pad(s.js)} B, gzip -9 ${pad(s.jsGzip)} B`);
  console.log(`consent-banner.css  ${pad(s.css)} B, gzip -9 ${pad(s.cssGzip)} B`);
  console.log(`total gzip -9       ${pad(s.gzip)} B of ${BUDGET} B budget`);
  if (s.prefs != null) {
    console.log(`consent-banner-prefs.js ${pad(s.prefs)} B, gzip -9 ${pad(s.prefsGzip)} B (loaded with the preferences)`);
  }
  if (s.embeds !== undefined) {
    console.log(`consent-embeds.js   ${pad(s.embeds)} B, gzip -9 ${pad(s.embedsGzip)} B of ${EMBEDS_BUDGET} B budget`);
  }
}

export async function build() {
  let esbuild;
  let terser;
  try {
    esbuild = await import('esbuild');
    terser = await import('terser');
  } catch (e) {
    throw new Error(`the minifiers are not installed (${e.code || e.message}): run npm ci in js/`);
  }
  const want = pinned();
  const terserVersion = JSON.parse(readFileSync(path.join(here, 'node_modules', 'terser', 'package.json'), 'utf8')).version;
  const have = { esbuild: esbuild.version, terser: terserVersion };
  if (JSON.stringify(have) !== JSON.stringify(want)) {
    throw new Error(`installed ${JSON.stringify(have)} but ${JSON.stringify(want)} are pinned: run npm ci in js/`);
  }
  const js = (await terser.minify(readFileSync(PATHS.srcJs, 'utf8'), structuredClone(OPTIONS.js))).code;
  const css = (await esbuild.transform(readFileSync(PATHS.srcCss, 'utf8'), OPTIONS.css)).code;
  const prefs = (await terser.minify(readFileSync(PATHS.srcPrefs, 'utf8'), structuredClone(OPTIONS.js))).code;
  const embeds = (await terser.minify(readFileSync(PATHS.srcEmbeds, 'utf8'), structuredClone(OPTIONS.js))).code;
  const jsBuf = Buffer.from(js);
  const cssBuf = Buffer.from(css);
  const prefsBuf = Buffer.from(prefs);
  const embedsBuf = Buffer.from(embeds);
  const s = { ...sizes(jsBuf, cssBuf, prefsBuf), ...embedsSizes(embedsBuf) };
  mkdirSync(path.dirname(PATHS.outJs), { recursive: true });
  writeFileSync(PATHS.outJs, jsBuf);
  writeFileSync(PATHS.outCss, cssBuf);
  writeFileSync(PATHS.outPrefs, prefsBuf);
  writeFileSync(PATHS.outEmbeds, embedsBuf);
  const manifest = {
    comment: 'Written by js/build.mjs; checked by node js/build.mjs --check.',
    minifiers: have,
    source: sourceHash(),
    js: sha256(jsBuf),
    css: sha256(cssBuf),
    prefs: sha256(prefsBuf),
    embeds: sha256(embedsBuf),
    sizes: s,
  };
  writeFileSync(PATHS.manifest, JSON.stringify(manifest, null, 2) + '\n');
  return s;
}

// Problems with the committed build, [] if none. Needs only node.
export function check() {
  const problems = [];
  let manifest;
  let js;
  let css;
  let prefs;
  let embeds;
  try {
    manifest = JSON.parse(readFileSync(PATHS.manifest, 'utf8'));
    js = readFileSync(PATHS.outJs);
    css = readFileSync(PATHS.outCss);
    prefs = readFileSync(PATHS.outPrefs);
    embeds = readFileSync(PATHS.outEmbeds);
  } catch (e) {
    return { problems: [`cannot read the build: ${e.message}`], sizes: null };
  }
  if (manifest.source !== sourceHash()) {
    problems.push('js/src or the build options changed since the last build: run node js/build.mjs');
  }
  if (manifest.js !== sha256(js)) problems.push('consent-banner.js differs from what the build wrote');
  if (manifest.css !== sha256(css)) problems.push('consent-banner.css differs from what the build wrote');
  if (manifest.prefs !== sha256(prefs)) problems.push('consent-banner-prefs.js differs from what the build wrote');
  if (manifest.embeds !== sha256(embeds)) problems.push('consent-embeds.js differs from what the build wrote');
  const s = { ...sizes(js, css, prefs), ...embedsSizes(embeds) };
  if (s.gzip > BUDGET) problems.push(`gzip size ${s.gzip} B exceeds the budget of ${BUDGET} B`);
  if (s.embedsGzip > EMBEDS_BUDGET) {
    problems.push(`consent-embeds.js gzip size ${s.embedsGzip} B exceeds its budget of ${EMBEDS_BUDGET} B`);
  }
  return { problems, sizes: s };
}

async function main(argv) {
  if (argv.includes('--check')) {
    const { problems, sizes: s } = check();
    if (s) report(s);
    for (const p of problems) console.error(`FAIL: ${p}`);
    if (!problems.length) console.log('static banner files are up to date and within budget');
    return problems.length ? 1 : 0;
  }
  const s = await build();
  report(s);
  if (s.gzip > BUDGET) {
    console.error(`FAIL: gzip size ${s.gzip} B exceeds the budget of ${BUDGET} B`);
    return 1;
  }
  if (s.embedsGzip > EMBEDS_BUDGET) {
    console.error(`FAIL: consent-embeds.js gzip size ${s.embedsGzip} B exceeds its budget of ${EMBEDS_BUDGET} B`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (err) => {
    console.error(`FAIL: ${err && err.message ? err.message : err}`);
    process.exitCode = 1;
  });
}
