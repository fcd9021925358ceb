// Fuzzes the web app's markdown renderer (web/js/markdown.js), which turns
// agents' text into DOM nodes. A mutation fuzzer in plain Node: inputs grow
// from the seeds by inserting markdown tokens, deleting, duplicating and
// splicing; an input that yields a new pair of nested element names joins
// the pool (a cheap stand-in for coverage). Properties, for every input:
// rendering does not throw; only the allowed elements appear; every link is
// http(s) or mailto and opens with noopener; attributes are only href, rel,
// target, start and data-lang; nesting stays within the renderer's depth;
// no input takes longer than --timeout seconds.
//
//   node fuzz/markdown_fuzz.mjs --seconds=S [--runs=N] [--corpus=DIR]
//        [--findings=DIR] [--seed=N]
// Exit 1 with the failing input written to the findings directory.

import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { render } from '../web/js/markdown.js';
import { fakeDocument } from '../tests/web/fakedom.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--?([a-z_]+)=(.*)$/.exec(a);
  if (!m) throw new Error(`unknown argument ${a}`);
  return [m[1], m[2]];
}));
const seconds = Number(args.seconds ?? 10);
const runs = Number(args.runs ?? 0);
const timeoutMs = Number(args.timeout ?? 10) * 1000;
const findings = args.findings ?? '.';
let state = Number(args.seed ?? Date.now()) >>> 0 || 1;

// xorshift32: reproducible with --seed.
function rand(n) {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state % n;
}

const TOKENS = ['*', '**', '***', '_', '__', '`', '```', '~~~', '[', ']', '(', ')', '![',
  '<', '>', '\n', '\n\n', '# ', '###### ', '- ', '* ', '+ ', '1. ', '10) ', '> ', '    ',
  '\t', '---', '***\n', '\\', '&amp;', '&#x3c;', 'https://', 'http://a.b/', 'mailto:a@b',
  'javascript:', 'JaVaScRiPt:', 'data:', 'vbscript:', '<https://x>', '<script>', '</a>',
  '" onclick="', "'", '\r\n', '\u0000', '\u00a0', '\u202e', '😀', ' ', 'a', '1'];
const ALLOWED = new Set(['p', 'br', 'strong', 'em', 'code', 'pre', 'a', 'ul', 'ol', 'li',
  'blockquote', 'h3', 'h4', 'h5', 'h6', 'hr']);
const ATTRIBUTES = new Set(['href', 'rel', 'target', 'start', 'data-lang']);
// The renderer caps inline nesting at 8; blocks nest by quote and list.
const MAX_NESTING = 400;
const MAX_LEN = 4096;

function mutate(input, pool) {
  let s = input;
  for (let k = 1 + rand(4); k > 0; k -= 1) {
    const at = rand(s.length + 1);
    switch (rand(6)) {
      case 0: case 1: s = s.slice(0, at) + TOKENS[rand(TOKENS.length)] + s.slice(at); break;
      case 2: s = s.slice(0, at) + s.slice(at + 1 + rand(8)); break;
      case 3: { const len = rand(32); s = s.slice(0, at) + s.slice(at, at + len).repeat(1 + rand(8)) + s.slice(at); break; }
      case 4: { const other = pool[rand(pool.length)]; const from = rand(other.length + 1); s = s.slice(0, at) + other.slice(from, from + rand(64)) + s.slice(at); break; }
      default: s = s.slice(0, at) + String.fromCharCode(rand(128)) + s.slice(at);
    }
  }
  return s.length > MAX_LEN ? s.slice(0, MAX_LEN) : s;
}

// Checks one rendering; returns what is wrong, or null. Collects nested
// element name pairs into `pairs`.
function check(frag, pairs) {
  const todo = [[frag, '#fragment', 0]];
  while (todo.length) {
    const [node, parent, depth] = todo.pop();
    if (depth > MAX_NESTING) return `nesting deeper than ${MAX_NESTING}`;
    for (const c of node.childNodes) {
      if (c.nodeName === '#text') {
        if (typeof c.data !== 'string') return 'text node without text';
        continue;
      }
      if (!ALLOWED.has(c.nodeName)) return `element <${c.nodeName}>`;
      for (const [name, value] of c.attributes) {
        if (!ATTRIBUTES.has(name)) return `attribute ${name} on <${c.nodeName}>`;
        if (name === 'href') {
          if (c.nodeName !== 'a') return `href on <${c.nodeName}>`;
          if (!/^(https?:\/\/|mailto:)/i.test(value)) return `link to ${JSON.stringify(value)}`;
        }
      }
      if (c.nodeName === 'a' && (c.attributes.get('rel') !== 'noopener noreferrer'
          || c.attributes.get('target') !== '_blank' || !c.attributes.has('href')))
        return 'link without href, rel or target';
      pairs.add(`${parent}>${c.nodeName}`);
      todo.push([c, c.nodeName, depth + 1]);
    }
  }
  return null;
}

function fail(input, why) {
  mkdirSync(findings, { recursive: true });
  const file = join(findings, `crash-markdown-${Date.now()}.md`);
  writeFileSync(file, input);
  console.error(`markdown: ${why}\ninput saved to ${file}`);
  process.exit(1);
}

const pool = [];
if (args.corpus) for (const f of readdirSync(args.corpus)) pool.push(readFileSync(join(args.corpus, f), 'utf8'));
if (pool.length === 0) pool.push('');
const seen = new Set();
const started = Date.now();
let n = 0;
let slowest = 0;
for (;;) {
  if (runs && n >= runs) break;
  if (!runs && (n & 255) === 0 && Date.now() - started >= seconds * 1000) break;
  const input = n < pool.length ? pool[n] : mutate(pool[rand(pool.length)], pool);
  const t0 = performance.now();
  let frag;
  try {
    frag = render(input, fakeDocument);
  } catch (e) {
    fail(input, `threw ${e && e.stack}`);
  }
  const ms = performance.now() - t0;
  slowest = Math.max(slowest, ms);
  if (ms > timeoutMs) fail(input, `took ${ms.toFixed(0)} ms`);
  const pairs = new Set();
  const why = check(frag, pairs);
  if (why) fail(input, why);
  let fresh = false;
  for (const p of pairs) if (!seen.has(p)) { seen.add(p); fresh = true; }
  if (fresh && pool.length < 10000) pool.push(input);
  n += 1;
}
const secs = (Date.now() - started) / 1000;
console.log(`markdown: ${n} runs in ${secs.toFixed(1)} s, ${seen.size} element pairs, pool ${pool.length}, slowest ${slowest.toFixed(1)} ms: no finding`);
