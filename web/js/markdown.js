// A small, safe markdown renderer for untrusted agent text.
//
// parse(text) builds a tree of plain objects; render(text, doc) turns it
// into DOM nodes with createElement/createTextNode only, so no input can
// ever become markup: a <script> tag is shown as the text it is. Links
// are kept only for http(s) and mailto URLs.
//
// Blocks: paragraphs (single newlines are line breaks, as in chat),
// ATX headings, fenced code, bullet and numbered lists (nested by
// indentation), blockquotes, horizontal rules. Inline: **strong**,
// __strong__, *em*, _em_, `code`, [text](url), <url>, bare http(s) URLs,
// backslash escapes.

import { safeUrl } from './util.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( {0,12})([-*+]|\d{1,9}[.)])([ \t]+(.*))?$/;
const BLANK = /^\s*$/;
const MAX_DEPTH = 8;

function listItem(line) {
  const m = ITEM.exec(line);
  if (!m) return null;
  const ordered = /\d/.test(m[2][0]);
  return {
    indent: m[1].length,
    ordered,
    start: ordered ? parseInt(m[2], 10) : 1,
    // Where the item's content starts: continuation lines indented this
    // far belong to it.
    contentIndent: m[1].length + m[2].length + (m[3] ? Math.min(m[3].length - (m[4] || '').length, 4) : 1),
    text: m[4] || '',
  };
}

function indentOf(line) {
  let n = 0;
  for (const c of line) {
    if (c === ' ') n += 1;
    else if (c === '\t') n += 4 - (n % 4);
    else break;
  }
  return n;
}

function dedent(line, n) {
  let i = 0;
  let col = 0;
  while (i < line.length && col < n && (line[i] === ' ' || line[i] === '\t')) {
    col += line[i] === '\t' ? 4 - (col % 4) : 1;
    i += 1;
  }
  return line.slice(i);
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || HR.test(line) || QUOTE.test(line)
    || (listItem(line) !== null && listItem(line).text !== '');
}

function parseBlocks(lines, depth) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) { i += 1; continue; }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const indent = indentOf(line);
      const body = [];
      i += 1;
      while (i < lines.length) {
        const close = lines[i].trim();
        if (close.startsWith(fence[0].repeat(fence.length)) && /^[`~]+$/.test(close) && close[0] === fence[0]) { i += 1; break; }
        body.push(dedent(lines[i], indent));
        i += 1;
      }
      blocks.push({ type: 'code', lang: m[2] || '', text: body.join('\n') });
      continue;
    }
    if ((m = HEADING.exec(line))) {
      blocks.push({ type: 'heading', level: m[1].length, children: parseInline(m[2] || '') });
      i += 1;
      continue;
    }
    if (HR.test(line)) {
      blocks.push({ type: 'hr' });
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && !BLANK.test(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        if (q) body.push(q[1]);
        else if (startsBlock(lines[i])) break;
        else body.push(lines[i]); // lazy continuation
        i += 1;
      }
      blocks.push({ type: 'blockquote', children: depth < MAX_DEPTH ? parseBlocks(body, depth + 1) : [para(body)] });
      continue;
    }
    const first = listItem(line);
    if (first) {
      const list = { type: 'list', ordered: first.ordered, start: first.start, items: [] };
      while (i < lines.length) {
        const item = listItem(lines[i]);
        if (!item || item.ordered !== first.ordered || item.indent >= first.contentIndent) break;
        const body = [item.text];
        i += 1;
        while (i < lines.length) {
          const next = lines[i];
          if (BLANK.test(next)) {
            // A blank line continues the item only if indented content follows.
            let j = i;
            while (j < lines.length && BLANK.test(lines[j])) j += 1;
            if (j < lines.length && indentOf(lines[j]) >= item.contentIndent) {
              for (; i < j; i += 1) body.push('');
              continue;
            }
            break;
          }
          if (indentOf(next) >= item.contentIndent) body.push(dedent(next, item.contentIndent));
          else if (listItem(next)) break;
          else if (startsBlock(next)) break;
          else body.push(next.trim()); // lazy continuation of the item's paragraph
          i += 1;
        }
        list.items.push(depth < MAX_DEPTH ? parseBlocks(body, depth + 1) : [para(body)]);
        // Blank lines between items keep the list going.
        let j = i;
        while (j < lines.length && BLANK.test(lines[j])) j += 1;
        if (j > i && j < lines.length && listItem(lines[j]) && listItem(lines[j]).ordered === first.ordered
            && listItem(lines[j]).indent < first.contentIndent) i = j;
      }
      blocks.push(list);
      continue;
    }
    // A paragraph: until a blank line or another block starts.
    const body = [line];
    i += 1;
    while (i < lines.length && !BLANK.test(lines[i]) && !startsBlock(lines[i])) {
      body.push(lines[i]);
      i += 1;
    }
    blocks.push(para(body));
  }
  return blocks;
}

function para(lines) {
  return { type: 'paragraph', children: parseInline(lines.map((l) => l.trim()).join('\n')) };
}

// -- inline -----------------------------------------------------------------

const ESCAPABLE = '\\`*_{}[]()#+-.!<>~|"\'';
const BARE_URL = /^https?:\/\/[^\s<>"'`]+/i;

function isWordChar(c) {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

function isSpace(c) {
  return c === undefined || /\s/.test(c);
}

/** Finds the closing delimiter `delim` for an opener at `from`. */
function findClose(text, delim, from) {
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') { i += 2; continue; }
    if (c === '`') {
      // Skip code spans: emphasis never closes inside one.
      const run = /^`+/.exec(text.slice(i))[0];
      const end = text.indexOf(run, i + run.length);
      if (end > 0) { i = end + run.length; continue; }
    }
    const d = delim[0];
    if (c === d && delim.length === 1 && text[i + 1] === d) {
      // A double run inside a single one: skip over its pair.
      const inner = findClose(text, d + d, i + 2);
      i = inner > 0 ? inner + 2 : i + 2;
      continue;
    }
    if (text.startsWith(delim, i) && !isSpace(text[i - 1])) {
      // In a longer closing run the delimiter is its last characters.
      while (text[i + delim.length] === d) i += 1;
      if (!(d === '_' && isWordChar(text[i + delim.length]))) return i;
    }
    i += 1;
  }
  return -1;
}

/** Parses `[text](url)` at `i`; returns {end, label, href} or null. */
function parseLink(text, i) {
  let depth = 0;
  let j = i;
  for (; j < text.length; j += 1) {
    if (text[j] === '\\') { j += 1; continue; }
    if (text[j] === '[') depth += 1;
    else if (text[j] === ']') { depth -= 1; if (depth === 0) break; }
  }
  if (j >= text.length || text[j + 1] !== '(') return null;
  let k = j + 2;
  let parens = 1;
  for (; k < text.length; k += 1) {
    if (text[k] === '\\') { k += 1; continue; }
    if (text[k] === '(') parens += 1;
    else if (text[k] === ')') { parens -= 1; if (parens === 0) break; }
    else if (text[k] === '\n') return null;
  }
  if (k >= text.length) return null;
  let dest = text.slice(j + 2, k).trim();
  const titled = /^(\S+)\s+(["'(]).*$/.exec(dest);
  if (titled) dest = titled[1];
  if (dest.startsWith('<') && dest.endsWith('>')) dest = dest.slice(1, -1);
  return { end: k + 1, label: text.slice(i + 1, j), href: dest };
}

export function parseInline(text, depth = 0) {
  const out = [];
  let buf = '';
  const flush = () => {
    if (buf) out.push({ type: 'text', text: buf });
    buf = '';
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && ESCAPABLE.includes(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') {
      flush();
      out.push({ type: 'br' });
      i += 1;
      continue;
    }
    if (c === '`') {
      const run = /^`+/.exec(text.slice(i))[0];
      const end = text.indexOf(run, i + run.length);
      if (end > 0 && text[end + run.length] !== '`') {
        flush();
        let code = text.slice(i + run.length, end).replace(/\n/g, ' ');
        if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
        out.push({ type: 'code', text: code });
        i = end + run.length;
        continue;
      }
      buf += run;
      i += run.length;
      continue;
    }
    if ((c === '*' || c === '_') && depth < MAX_DEPTH) {
      const strong = text[i + 1] === c;
      const delim = strong ? c + c : c;
      const next = text[i + delim.length];
      const leftOk = !isSpace(next) && !(c === '_' && isWordChar(text[i - 1]));
      if (leftOk) {
        const close = findClose(text, delim, i + delim.length);
        if (close > i + delim.length) {
          flush();
          out.push({ type: strong ? 'strong' : 'em', children: parseInline(text.slice(i + delim.length, close), depth + 1) });
          i = close + delim.length;
          continue;
        }
      }
      buf += delim;
      i += delim.length;
      continue;
    }
    if (c === '!' && text[i + 1] === '[') {
      // Images become links to them (the CSP admits no external images).
      const link = parseLink(text, i + 1);
      if (link) {
        const href = safeUrl(link.href);
        flush();
        if (href) out.push({ type: 'link', href, children: [{ type: 'text', text: link.label || href }] });
        else out.push({ type: 'text', text: text.slice(i, link.end) });
        i = link.end;
        continue;
      }
    }
    if (c === '[' && depth < MAX_DEPTH) {
      const link = parseLink(text, i);
      if (link) {
        const href = safeUrl(link.href);
        flush();
        if (href) out.push({ type: 'link', href, children: parseInline(link.label, depth + 1) });
        else out.push({ type: 'text', text: text.slice(i, link.end) });
        i = link.end;
        continue;
      }
    }
    if (c === '<') {
      const m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(text.slice(i));
      const href = m && safeUrl(m[1]);
      if (href) {
        flush();
        out.push({ type: 'link', href, children: [{ type: 'text', text: m[1] }] });
        i += m[0].length;
        continue;
      }
    }
    if ((c === 'h' || c === 'H') && !isWordChar(text[i - 1])) {
      const m = BARE_URL.exec(text.slice(i));
      if (m) {
        // Trailing punctuation is not part of a bare URL.
        let url = m[0].replace(/[.,:;!?]+$/, '');
        if (url.endsWith(')') && !url.includes('(')) url = url.slice(0, -1);
        const href = safeUrl(url);
        if (href) {
          flush();
          out.push({ type: 'link', href, children: [{ type: 'text', text: url }] });
          i += url.length;
          continue;
        }
      }
    }
    buf += c;
    i += 1;
  }
  flush();
  return out;
}

/** The block tree of `text`. */
export function parse(text) {
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  return parseBlocks(lines, 0);
}

// -- rendering ----------------------------------------------------------------

function renderInline(nodes, doc, parent) {
  for (const n of nodes) {
    switch (n.type) {
      case 'text': parent.appendChild(doc.createTextNode(n.text)); break;
      case 'br': parent.appendChild(doc.createElement('br')); break;
      case 'code': {
        const code = doc.createElement('code');
        code.appendChild(doc.createTextNode(n.text));
        parent.appendChild(code);
        break;
      }
      case 'link': {
        const a = doc.createElement('a');
        a.setAttribute('href', n.href);
        a.setAttribute('rel', 'noopener noreferrer');
        a.setAttribute('target', '_blank');
        renderInline(n.children, doc, a);
        parent.appendChild(a);
        break;
      }
      default: { // strong, em
        const e = doc.createElement(n.type);
        renderInline(n.children, doc, e);
        parent.appendChild(e);
      }
    }
  }
}

function renderBlocks(blocks, doc, parent) {
  for (const b of blocks) {
    let node;
    switch (b.type) {
      case 'paragraph':
        node = doc.createElement('p');
        renderInline(b.children, doc, node);
        break;
      case 'heading':
        // Agent headings sit inside a message: keep them below the page's.
        node = doc.createElement(`h${Math.min(b.level + 2, 6)}`);
        renderInline(b.children, doc, node);
        break;
      case 'code': {
        node = doc.createElement('pre');
        const code = doc.createElement('code');
        if (b.lang && /^[\w+#.-]{1,32}$/.test(b.lang)) code.setAttribute('data-lang', b.lang);
        code.appendChild(doc.createTextNode(b.text));
        node.appendChild(code);
        break;
      }
      case 'hr': node = doc.createElement('hr'); break;
      case 'blockquote':
        node = doc.createElement('blockquote');
        renderBlocks(b.children, doc, node);
        break;
      case 'list':
        node = doc.createElement(b.ordered ? 'ol' : 'ul');
        if (b.ordered && b.start !== 1) node.setAttribute('start', String(b.start));
        for (const item of b.items) {
          const li = doc.createElement('li');
          // A one-paragraph item renders tight, without a <p>.
          if (item.length === 1 && item[0].type === 'paragraph') renderInline(item[0].children, doc, li);
          else renderBlocks(item, doc, li);
          node.appendChild(li);
        }
        break;
      default: continue;
    }
    parent.appendChild(node);
  }
}

/** Renders markdown `text` into a DocumentFragment of `doc`. */
export function render(text, doc = globalThis.document) {
  const frag = doc.createDocumentFragment();
  renderBlocks(parse(text), doc, frag);
  return frag;
}
