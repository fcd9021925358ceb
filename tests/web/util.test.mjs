import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeDocument, FakeNode, toHTML } from './fakedom.mjs';
import { el, pagedList, safeUrl } from '../../web/js/util.js';

// el() creates nodes in the page's document.
globalThis.document = fakeDocument;
globalThis.Node = FakeNode;

test('event handlers are functions, never strings', () => {
  const click = () => {};
  const button = el('button', { onclick: click });
  assert.deepEqual(button.listeners, [['click', click]]);
  assert.equal(button.getAttribute('onclick'), null);
  for (const key of ['onclick', 'onerror', 'onMouseOver', 'ONLOAD']) {
    assert.throws(() => el('img', { [key]: 'alert(1)' }), TypeError, key);
  }
  assert.throws(() => el('a', { onclick: { toString: () => 'alert(1)' } }), TypeError);
});

test('URL attributes keep only safe URLs', () => {
  for (const [tag, key] of [['a', 'href'], ['img', 'src'], ['form', 'action'], ['button', 'formaction'], ['a', 'HREF']]) {
    for (const bad of ['javascript:alert(1)', ' JaVaScRiPt:alert(1)', 'java\tscript:alert(1)', 'data:text/html,<b>x</b>',
      'vbscript:x', 'blob:https://nod.example/x']) {
      assert.equal(el(tag, { [key]: bad }).getAttribute(key), null, `${key}=${bad}`);
    }
  }
  assert.equal(toHTML(el('a', { href: '#/agents', text: 'Agents' })), '<a href="#/agents">Agents</a>');
  assert.equal(el('img', { src: '/media/a.png' }).getAttribute('src'), '/media/a.png');
  assert.equal(el('a', { href: 'https://e.com/x' }).getAttribute('href'), 'https://e.com/x');
  assert.equal(el('a', { href: 'mailto:a@b.c' }).getAttribute('href'), 'mailto:a@b.c');
});

test('other attributes, text and children as before', () => {
  const node = el('div', { class: 'c', testid: 't', 'aria-label': 'L', title: '<b>' }, 'a', [el('br'), null, ['b']]);
  assert.equal(toHTML(node), '<div class="c" aria-label="L" title="&lt;b&gt;">a<br>b</div>');
  assert.equal(node.dataset.testid, 't');
});

test('safeUrl: absolute http(s) and mailto, relative ones only with a base', () => {
  assert.equal(safeUrl(' javascript:x'), null);
  assert.equal(safeUrl('https://ok.example/'), 'https://ok.example/');
  assert.equal(safeUrl('/relative'), null);
  assert.equal(safeUrl('/relative', 'https://nod.example/'), 'https://nod.example/relative');
  assert.equal(safeUrl('javascript:x', 'https://nod.example/'), null);
});

// A list whose fetch the test answers by hand, and what it shows.
function deliveryList() {
  const list = el('ol');
  const more = el('button');
  let answer;
  const rows = pagedList({
    list, more, empty: 'none', key: (d) => d.id, cursor: (d) => d.id,
    fetch: () => new Promise((resolve) => { answer = resolve; }),
    render: (d) => el('li', { 'data-state': d.state }),
    version: (d) => d.at,
  });
  const shown = () => list.childNodes.map((n) => n.getAttribute('data-state'));
  return { rows, shown, answer: (page) => answer(page) };
}

test('pagedList: a live change during a load is not lost to the older page', async () => {
  const { rows, shown, answer } = deliveryList();
  const loading = rows.load();
  // The record moved on while the page was on its way.
  rows.upsert({ id: 'e1', state: 'pending', at: '2026-12-07T10:00:02Z' });
  answer([{ id: 'e1', state: 'retrying', at: '2026-12-07T10:00:01Z' }]);
  await loading;
  assert.deepEqual(shown(), ['pending']);
});

test('pagedList: a page newer than a crossing live change wins', async () => {
  const { rows, shown, answer } = deliveryList();
  const loading = rows.load();
  rows.upsert({ id: 'e1', state: 'retrying', at: '2026-12-07T10:00:01Z' });
  rows.upsert({ id: 'e2', state: 'queued', at: '2026-12-07T10:00:03Z' });
  answer([{ id: 'e1', state: 'pending', at: '2026-12-07T10:00:02Z' }]);
  await loading;
  // e1 as the page has it; e2, new, on top.
  assert.deepEqual(shown(), ['queued', 'pending']);
  // After the load, live changes apply as they come.
  rows.upsert({ id: 'e1', state: 'delivered', at: '2026-12-07T10:00:04Z' });
  assert.deepEqual(shown(), ['queued', 'delivered']);
});
