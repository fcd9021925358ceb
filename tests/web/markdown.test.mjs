import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render, parse } from '../../web/js/markdown.js';
import { fakeDocument, toHTML, elements } from './fakedom.mjs';

const html = (md) => toHTML(render(md, fakeDocument));
const LINK = 'rel="noopener noreferrer" target="_blank"';
const ALLOWED = new Set(['p', 'br', 'strong', 'em', 'code', 'pre', 'a', 'ul', 'ol', 'li',
  'blockquote', 'h3', 'h4', 'h5', 'h6', 'hr']);

test('paragraphs and line breaks', () => {
  assert.equal(html('one\ntwo\n\nthree'), '<p>one<br>two</p><p>three</p>');
  assert.equal(html(''), '');
  assert.equal(html('\n\n  \n'), '');
  assert.equal(html('a\r\nb'), '<p>a<br>b</p>');
});

test('a script tag is text, never an element', () => {
  const md = '<script>alert(1)</script>\n<img src=x onerror=alert(1)>';
  const frag = render(md, fakeDocument);
  assert.deepEqual(elements(frag).map((e) => e.nodeName), ['p', 'br']);
  assert.equal(toHTML(frag), '<p>&lt;script&gt;alert(1)&lt;/script&gt;<br>&lt;img src=x onerror=alert(1)&gt;</p>');
  assert.equal(frag.textContent, md.replace('\n', ''));
});

test('html in every construct stays text', () => {
  const md = '# <b>h</b>\n- <i>x</i>\n> <iframe>\n\n**<u>s</u>** `<code>`\n```\n<script>\n```';
  const frag = render(md, fakeDocument);
  for (const e of elements(frag)) assert.ok(ALLOWED.has(e.nodeName), e.nodeName);
  assert.ok(toHTML(frag).includes('&lt;script&gt;'));
});

test('headings', () => {
  assert.equal(html('# Title'), '<h3>Title</h3>');
  assert.equal(html('### Three ###'), '<h5>Three</h5>');
  assert.equal(html('###### six'), '<h6>six</h6>');
  assert.equal(html('#nope'), '<p>#nope</p>');
});

test('emphasis and code', () => {
  assert.equal(html('**bold** and *it* and __b__ and _i_'),
    '<p><strong>bold</strong> and <em>it</em> and <strong>b</strong> and <em>i</em></p>');
  assert.equal(html('*a **b** c*'), '<p><em>a <strong>b</strong> c</em></p>');
  assert.equal(html('***x***'), '<p><strong><em>x</em></strong></p>');
  assert.equal(html('snake_case_name and 2 * 3 * 4'), '<p>snake_case_name and 2 * 3 * 4</p>');
  assert.equal(html('`a *b* <c>`'), '<p><code>a *b* &lt;c&gt;</code></p>');
  assert.equal(html('``a ` b``'), '<p><code>a ` b</code></p>');
  assert.equal(html('\\*not em\\*'), '<p>*not em*</p>');
  assert.equal(html('**unclosed'), '<p>**unclosed</p>');
});

test('fenced code blocks keep text verbatim', () => {
  assert.equal(html('```js\nlet a = "<b>";\n\n**x**\n```'),
    '<pre><code data-lang="js">let a = "&lt;b&gt;";\n\n**x**</code></pre>');
  assert.equal(html('~~~\nopen'), '<pre><code>open</code></pre>');
  assert.equal(html('```"><script>\nx\n```'), '<pre><code>x</code></pre>');
});

test('lists', () => {
  assert.equal(html('- a\n- b'), '<ul><li>a</li><li>b</li></ul>');
  assert.equal(html('* a\n* **b**'), '<ul><li>a</li><li><strong>b</strong></li></ul>');
  assert.equal(html('1. one\n2. two'), '<ol><li>one</li><li>two</li></ol>');
  assert.equal(html('3) three\n4) four'), '<ol start="3"><li>three</li><li>four</li></ol>');
  assert.equal(html('- a\n  - nested\n- b'), '<ul><li><p>a</p><ul><li>nested</li></ul></li><li>b</li></ul>');
  assert.equal(html('text\n- item'), '<p>text</p><ul><li>item</li></ul>');
  assert.equal(html('- a\n\n- b'), '<ul><li>a</li><li>b</li></ul>');
});

test('blockquotes and rules', () => {
  assert.equal(html('> quoted\n> **more**'), '<blockquote><p>quoted<br><strong>more</strong></p></blockquote>');
  assert.equal(html('> a\n>> b'), '<blockquote><p>a</p><blockquote><p>b</p></blockquote></blockquote>');
  assert.equal(html('a\n\n---\n\nb'), '<p>a</p><hr><p>b</p>');
});

test('links only for http(s) and mailto', () => {
  assert.equal(html('[Nod](https://example.com/a?b=1)'), `<p><a href="https://example.com/a?b=1" ${LINK}>Nod</a></p>`);
  assert.equal(html('[mail](mailto:a@b.c)'), `<p><a href="mailto:a@b.c" ${LINK}>mail</a></p>`);
  assert.equal(html('[x](javascript:alert(1))'), '<p>[x](javascript:alert(1))</p>');
  assert.equal(html('[x](JaVaScRiPt:alert(1))'), '<p>[x](JaVaScRiPt:alert(1))</p>');
  assert.equal(html('[x](data:text/html,hi)'), '<p>[x](data:text/html,hi)</p>');
  assert.equal(html('[x](/relative)'), '<p>[x](/relative)</p>');
  assert.equal(html('<javascript:alert(1)>'), '<p>&lt;javascript:alert(1)&gt;</p>');
  assert.equal(html('see https://example.com/x.'), `<p>see <a href="https://example.com/x" ${LINK}>https://example.com/x</a>.</p>`);
  assert.equal(html('<https://example.com>'), `<p><a href="https://example.com/" ${LINK}>https://example.com</a></p>`);
  assert.equal(html('[a "q"](https://e.com/"onmouseover=x)'),
    `<p><a href="https://e.com/%22onmouseover=x" ${LINK}>a "q"</a></p>`);
  assert.equal(html('![alt](https://e.com/i.png)'), `<p><a href="https://e.com/i.png" ${LINK}>alt</a></p>`);
});

test('emphasis and links follow CommonMark where the cases get hard', () => {
  assert.equal(html('*foo**bar*'), '<p><em>foo**bar</em></p>');
  assert.equal(html('_a_b_ __c__d'), '<p><em>a_b</em> __c__d</p>');
  assert.equal(html('*a [b* c](https://x.y/)'), `<p>*a <a href="https://x.y/" ${LINK}>b* c</a></p>`);
  assert.equal(html('`a\\`b`'), '<p><code>a\\</code>b`</p>');
  // No link inside a link: the outer brackets stay text.
  const frag = render('[a [b](https://x.y/) c](/z)', fakeDocument);
  assert.equal(toHTML(frag), `<p>[a <a href="https://x.y/" ${LINK}>b</a> c](/z)</p>`);
});

test('deep nesting is bounded', () => {
  const deep = '>'.repeat(200) + ' x';
  assert.ok(html(deep).includes('x'));
  const stars = 'a' + '*'.repeat(5000) + 'b';
  assert.equal(render(stars, fakeDocument).textContent.length > 0, true);
  assert.ok(Array.isArray(parse('[' .repeat(1000))));
});

// The CPU time of the fastest of three runs: a busy machine slows one
// run, or the wall clock, not all three.
function fastestCpuMs(fn) {
  let best = Infinity;
  for (let run = 0; run < 3; run += 1) {
    const before = process.cpuUsage();
    fn();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

test('unmatched delimiters render in linear time, as the text they are', () => {
  const cases = {
    // 100,000 openers that never close.
    stars: '*a _b '.repeat(50_000),
    // Backtick runs of 400 lengths, none closed, links that never get
    // their ")" (on one line), brackets that never close.
    mixed: Array.from({ length: 400 }, (_, k) => '`'.repeat(k + 1) + ' *a [b](c _d '.repeat(60)).join(''),
    brackets: '[a '.repeat(50_000) + ']'.repeat(50_000),
  };
  for (const [name, md] of Object.entries(cases)) {
    let frag;
    const ms = fastestCpuMs(() => { frag = render(md, fakeDocument); });
    // CPU time, so a busy machine does not fail it; the old scanner took
    // minutes on these texts.
    assert.ok(ms < 100, `${name}: ${ms.toFixed(1)} ms`);
    assert.deepEqual(elements(frag).map((e) => e.nodeName), ['p'], name);
    assert.equal(frag.textContent, md.trim(), name);
  }
});

test('emphasis nested deeper than the renderer shows stays text', () => {
  const md = `${'*a '.repeat(20_000)}b${' c*'.repeat(20_000)}`;
  const frag = render(md, fakeDocument);
  assert.equal(frag.textContent.replace(/\*/g, ''), md.replace(/\*/g, ''));
  assert.ok(elements(frag).length <= 10);
});
