// Checks on the browser app's files that need no browser: every module
// parses, every relative import exists, and nothing the strict CSP would
// block (inline scripts, style attributes, handlers in HTML, eval) or that
// could turn agent text into markup (innerHTML and friends) is used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}
const all = files(WEB);
const scripts = all.filter((f) => f.endsWith('.js'));

test('the app has its entry points', () => {
  for (const f of ['index.html', 'style.css', 'app.js', 'js/markdown.js', 'js/cron.js', 'js/live.js', 'js/api.js']) {
    assert.ok(existsSync(join(WEB, f)), f);
  }
});

test('every module parses', () => {
  for (const f of scripts) execFileSync(process.execPath, ['--check', f], { stdio: 'pipe' });
});

test('every import resolves to a file of the app', () => {
  for (const f of scripts) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
      assert.ok(m[1].startsWith('.'), `${relative(WEB, f)}: bare import ${m[1]}`);
      assert.ok(existsSync(join(dirname(f), m[1])), `${relative(WEB, f)}: ${m[1]} not found`);
    }
  }
});

test('no HTML parsing of strings, no eval, no inline styles', () => {
  const banned = [/\binnerHTML\b/, /\bouterHTML\b/, /insertAdjacentHTML/, /document\.write/, /\beval\s*\(/,
    /new\s+Function\b/, /\.style\.\w/, /setAttribute\(\s*['"]style['"]/, /\bstyle\s*:/, /createContextualFragment/, /DOMParser/];
  for (const f of scripts) {
    const src = readFileSync(f, 'utf8');
    for (const re of banned) assert.ok(!re.test(src), `${relative(WEB, f)} uses ${re}`);
  }
});

test('index.html has no inline script, style or handler', () => {
  const html = readFileSync(join(WEB, 'index.html'), 'utf8');
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    assert.match(m[1], /\bsrc=/, 'a script without src');
    assert.equal(m[2].trim(), '', 'an inline script');
  }
  assert.ok(!/<style\b/i.test(html), 'a <style> element');
  assert.ok(!/\sstyle\s*=/i.test(html), 'a style attribute');
  assert.ok(!/\son[a-z]+\s*=/i.test(html), 'an inline event handler');
});

test('the stylesheet loads nothing from elsewhere', () => {
  const css = readFileSync(join(WEB, 'style.css'), 'utf8');
  assert.ok(!/@import/i.test(css));
  assert.ok(!/url\(\s*['"]?(https?:)?\/\//i.test(css));
});

test('the service worker keeps every file of the app, and the manifest names real icons', () => {
  const sw = readFileSync(join(WEB, 'sw.js'), 'utf8');
  const listed = JSON.parse(`[${/const SHELL = \[([\s\S]*?)\];/.exec(sw)[1].replace(/'/g, '"').replace(/,\s*$/, '')}]`);
  const expected = all
    .map((f) => `/${relative(WEB, f)}`)
    .filter((p) => p !== '/sw.js')
    .map((p) => (p === '/index.html' ? '/' : p))
    .sort();
  assert.deepEqual([...listed].sort(), expected);
  const manifest = JSON.parse(readFileSync(join(WEB, 'manifest.webmanifest'), 'utf8'));
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/');
  for (const icon of manifest.icons) assert.ok(existsSync(join(WEB, icon.src)), icon.src);
  assert.ok(manifest.icons.some((i) => i.purpose === 'maskable' && i.sizes === '512x512'));
  assert.ok(manifest.icons.some((i) => i.sizes === '192x192'));
});
