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
//
// One pass left to right, as CommonMark does it: text, code spans and
// autolinks become nodes at once; runs of * and _ go on a delimiter stack
// and [ or ![ on a bracket stack, to be matched later. Emphasis is matched
// with the delimiter stack and a lowest-opener bound per kind of closer,
// so no input makes the scan go back over the text: linear time.

const ESCAPABLE = '\\`*_{}[]()#+-.!<>~|"\'';
const BARE_URL = /https?:\/\/[^\s<>"'`]+/iy;
const AUTOLINK = /<((?:https?:\/\/|mailto:)[^\s<>]+)>/iy;
const SPACE = /\s/u;
const PUNCT = /[\p{P}\p{S}]/u;
// The Unicode tests are slow: ASCII, most of any text, from a table.
const ASCII_CLASS = Uint8Array.from({ length: 128 }, (_, code) => {
  const c = String.fromCharCode(code);
  if (SPACE.test(c)) return 0;
  return PUNCT.test(c) ? 1 : 2;
});

function matchAt(re, text, i) {
  re.lastIndex = i;
  return re.exec(text);
}

function isWordChar(c) {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

/** 0: whitespace (or the edge of the text), 1: punctuation, 2: other. */
function charClass(c) {
  if (c === undefined) return 0;
  const code = c.charCodeAt(0);
  if (code < 128) return ASCII_CLASS[code];
  if (SPACE.test(c)) return 0;
  return PUNCT.test(c) ? 1 : 2;
}

/** The flanking rules of CommonMark: can a run of `c` between `before`
 * and `after` open (1) and close (2) emphasis? */
function flanking(c, before, after) {
  const b = charClass(before);
  const a = charClass(after);
  let left = a !== 0 && (a === 2 || b !== 2);
  let right = b !== 0 && (b === 2 || a !== 2);
  if (c === '_') {
    // An underscore inside a word is a letter (snake_case).
    [left, right] = [left && (!right || b === 1), right && (!left || a === 1)];
  }
  return (left ? 1 : 0) | (right ? 2 : 0);
}

/** For each "(" in `text`, the index of its matching ")" on the same line
 * (-1 if none), backslash escapes skipped: one pass for all link
 * destinations. */
function matchParens(text) {
  const match = new Int32Array(text.length).fill(-1);
  const open = [];
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '\\') i += 1;
    else if (c === '(') open.push(i);
    else if (c === ')') { if (open.length) match[open.pop()] = i; }
    else if (c === '\n') open.length = 0;
  }
  return match;
}

/** Code span closers: the start of the first run of exactly `len`
 * backticks at or after `from`. Calls come with `from` increasing, so each
 * run is passed over once. */
function backtickRuns(text) {
  const runs = new Map();
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] !== '`') continue;
    const start = i;
    while (text[i + 1] === '`') i += 1;
    const len = i - start + 1;
    if (!runs.has(len)) runs.set(len, { starts: [], next: 0 });
    runs.get(len).starts.push(start);
  }
  return (from, len) => {
    const run = runs.get(len);
    if (!run) return -1;
    while (run.next < run.starts.length && run.starts[run.next] < from) run.next += 1;
    return run.next < run.starts.length ? run.starts[run.next] : -1;
  };
}

/** Parses inline markdown into a list of nodes. */
export function parseInline(text) {
  return new InlineParser(text).parse();
}

// "No cell" or "no delimiter" in the index-linked structures below.
const NONE = -1;
// The list's sentinel cell.
const HEAD = 0;
const STAR = 42;

/** Columns of small integers that grow together: one Int32Array per
 * name, indexed by row. */
class Table {
  constructor(names) {
    this.names = names;
    this.size = 0;
    this.capacity = 16;
    for (const name of names) this[name] = new Int32Array(this.capacity);
  }

  /** A new row, its columns unset. */
  row() {
    if (this.size === this.capacity) {
      this.capacity *= 2;
      for (const name of this.names) {
        const grown = new Int32Array(this.capacity);
        grown.set(this[name]);
        this[name] = grown;
      }
    }
    return this.size++;
  }
}

class InlineParser {
  constructor(text) {
    this.text = text;
    // The nodes so far: a doubly linked list of cells around the sentinel
    // HEAD, so that wrapping a range in <em> moves each node once. A cell
    // of text is a range of the source (node NONE), sliced when collected;
    // other cells index `nodes`. Cells, delimiters and brackets are rows of
    // integer columns, not one object each: a long text makes hundreds of
    // thousands of them, and allocating that many objects took longer than
    // the parse itself.
    this.cells = new Table(['node', 'from', 'to', 'prev', 'next']);
    this.nodes = [];
    this.newCell(NONE, 0, 0);
    this.cells.prev[HEAD] = HEAD;
    this.cells.next[HEAD] = HEAD;
    // Delimiter runs, a stack linked both ways; `delims` is its top.
    // flags 1: can open, 2: can close.
    this.delimRuns = new Table(['cell', 'char', 'count', 'origCount', 'flags', 'prev', 'next']);
    this.delims = NONE;
    // Open brackets, a stack: the cell of "[" or "![", its position,
    // whether it opens an image, the delimiter stack's top then and the
    // number of links made before it.
    this.brackets = new Table(['cell', 'pos', 'image', 'delims', 'links']);
    this.links = 0;
    this.parens = null;
    this.closingRun = null;
  }

  /** A cell of `node` (an object, or null for the text from..to). */
  newCell(node, from, to) {
    const { cells } = this;
    const cell = cells.row();
    cells.node[cell] = node ? this.nodes.push(node) - 1 : NONE;
    cells.from[cell] = from;
    cells.to[cell] = to;
    return cell;
  }

  /** Links `cell` in between `before` and `after`. */
  linkBetween(cell, before, after) {
    const { prev, next } = this.cells;
    prev[cell] = before;
    next[cell] = after;
    next[before] = cell;
    prev[after] = cell;
  }

  add(node, from = 0, to = 0) {
    const cell = this.newCell(node, from, to);
    this.linkBetween(cell, this.cells.prev[HEAD], HEAD);
    return cell;
  }

  addText(from, to) {
    if (to > from) this.add(null, from, to);
  }

  unlink(cell) {
    const { prev, next } = this.cells;
    next[prev[cell]] = next[cell];
    prev[next[cell]] = prev[cell];
  }

  /** Takes the cells from `first` up to `stop` out of the list, as an
   * array of their nodes with neighbouring text merged. */
  collect(first, stop) {
    const out = [];
    let text = '';
    // The source range being gathered: neighbouring text cells are often
    // neighbours in the source too, and then one slice takes them all.
    let from = 0;
    let to = 0;
    const { cells } = this;
    for (let cell = first; cell !== stop; cell = cells.next[cell]) {
      if (cells.node[cell] === NONE) {
        if (cells.from[cell] !== to) {
          text += this.text.slice(from, to);
          from = cells.from[cell];
        }
        to = cells.to[cell];
        continue;
      }
      text += this.text.slice(from, to);
      if (text) out.push({ type: 'text', text });
      text = '';
      from = to = 0;
      out.push(this.nodes[cells.node[cell]]);
    }
    text += this.text.slice(from, to);
    if (text) out.push({ type: 'text', text });
    cells.next[cells.prev[first]] = stop;
    cells.prev[stop] = cells.prev[first];
    return out;
  }

  pushDelim(cell, char, count, flags) {
    const runs = this.delimRuns;
    const d = runs.row();
    runs.cell[d] = cell;
    runs.char[d] = char;
    runs.count[d] = count;
    runs.origCount[d] = count;
    runs.flags[d] = flags;
    runs.prev[d] = this.delims;
    runs.next[d] = NONE;
    if (this.delims !== NONE) runs.next[this.delims] = d;
    this.delims = d;
  }

  removeDelim(d) {
    const { prev: dPrev, next: dNext } = this.delimRuns;
    if (dPrev[d] !== NONE) dNext[dPrev[d]] = dNext[d];
    if (dNext[d] !== NONE) dPrev[dNext[d]] = dPrev[d];
    else this.delims = dPrev[d];
  }

  /** Makes `bottom` the top of the delimiter stack. */
  truncateDelims(bottom) {
    this.delims = bottom;
    if (bottom !== NONE) this.delimRuns.next[bottom] = NONE;
  }

  /** Matches the emphasis delimiters above `bottom` (CommonMark's
   * "process emphasis") and takes them off the stack. */
  processEmphasis(bottom) {
    // No delimiter is added while matching: the columns stay where they are.
    const {
      cell: dCell, char: dChar, count: dCount, origCount: dOrigCount, flags: dFlags, prev: dPrev, next: dNext,
    } = this.delimRuns;
    // Per kind of closer (character, can it open, length mod 3), where the
    // search for an opener last failed.
    const floors = new Int32Array(12).fill(bottom);
    let closer = this.delims === bottom ? NONE : this.delims;
    while (closer !== NONE && dPrev[closer] !== bottom) closer = dPrev[closer];
    while (closer !== NONE) {
      const closerFlags = dFlags[closer];
      if (!(closerFlags & 2)) {
        closer = dNext[closer];
        continue;
      }
      const closerOrig = dOrigCount[closer];
      const kind = (dChar[closer] === STAR ? 0 : 6) + (closerFlags & 1 ? 3 : 0) + (closerOrig % 3);
      const floor = floors[kind];
      let opener = dPrev[closer];
      while (opener !== NONE && opener !== bottom && opener !== floor) {
        const oddMatch = ((closerFlags & 1) || (dFlags[opener] & 2)) && closerOrig % 3 !== 0
          && (dOrigCount[opener] + closerOrig) % 3 === 0;
        if (dChar[opener] === dChar[closer] && (dFlags[opener] & 1) && !oddMatch) break;
        opener = dPrev[opener];
      }
      if (opener === NONE || opener === bottom || opener === floor) {
        floors[kind] = dPrev[closer];
        const next = dNext[closer];
        if (!(closerFlags & 1)) this.removeDelim(closer);
        closer = next;
        continue;
      }
      // Three on both sides nest as <strong><em>, as this renderer always did.
      const use = dCount[closer] >= 2 && dCount[opener] >= 2 && !(dCount[closer] >= 3 && dCount[opener] >= 3) ? 2 : 1;
      dCount[opener] -= use;
      dCount[closer] -= use;
      const openerCell = dCell[opener];
      const closerCell = dCell[closer];
      // A run is all one character: any part of it will do as its text.
      this.cells.to[openerCell] -= use;
      this.cells.from[closerCell] += use;
      const node = { type: use === 2 ? 'strong' : 'em', children: this.collect(this.cells.next[openerCell], closerCell) };
      this.linkBetween(this.newCell(node, 0, 0), openerCell, closerCell);
      // The delimiters in between are inside the new node: done with.
      dNext[opener] = closer;
      dPrev[closer] = opener;
      if (dCount[opener] === 0) {
        this.unlink(openerCell);
        this.removeDelim(opener);
      }
      if (dCount[closer] === 0) {
        this.unlink(closerCell);
        const next = dNext[closer];
        this.removeDelim(closer);
        closer = next;
      }
    }
    this.truncateDelims(bottom);
  }

  /** At a "]" at `i`: the end of the link or image it closes, or -1. */
  closeBracket(i) {
    const { text } = this;
    const { brackets } = this;
    const top = --brackets.size;
    const openerCell = brackets.cell[top];
    const openerPos = brackets.pos[top];
    const image = brackets.image[top] === 1;
    const delimsThen = brackets.delims[top];
    const linksThen = brackets.links[top];
    // No links inside links: a link made since this bracket opened leaves
    // it text.
    if (text[i + 1] !== '(' || !(image || linksThen === this.links)) return -1;
    this.parens ??= matchParens(text);
    const close = this.parens[i + 1];
    if (close < 0) return -1;
    let dest = text.slice(i + 2, close).trim();
    const titled = /^(\S+)\s+(["'(]).*$/.exec(dest);
    if (titled) dest = titled[1];
    if (dest.startsWith('<') && dest.endsWith('>')) dest = dest.slice(1, -1);
    const href = safeUrl(dest);
    if (href && !image) {
      this.processEmphasis(delimsThen);
      const children = this.collect(this.cells.next[openerCell], HEAD);
      this.unlink(openerCell);
      this.add({ type: 'link', href, children });
      this.links += 1;
      return close + 1;
    }
    // Images become links to them (the CSP admits no external images); a
    // refused link stays the text it was.
    this.truncateDelims(delimsThen);
    this.collect(openerCell, HEAD);
    const label = text.slice(openerPos + 2, i);
    if (href) this.add({ type: 'link', href, children: [{ type: 'text', text: label || href }] });
    else this.addText(openerPos, close + 1);
    return close + 1;
  }

  openBracket(i, image) {
    const width = image ? 2 : 1;
    const cell = this.add(null, i, i + width);
    const { brackets } = this;
    const b = brackets.row();
    brackets.cell[b] = cell;
    brackets.pos[b] = i;
    brackets.image[b] = image ? 1 : 0;
    brackets.delims[b] = this.delims;
    brackets.links[b] = this.links;
    return i + width;
  }

  parse() {
    const { text } = this;
    let i = 0;
    let start = 0; // where the plain text not yet added began
    while (i < text.length) {
      const c = text[i];
      let end = -1; // past the token found at i, if any
      if (c === '\\' && i + 1 < text.length && ESCAPABLE.includes(text[i + 1])) {
        this.addText(start, i);
        this.addText(i + 1, i + 2);
        end = i + 2;
      } else if (c === '\n') {
        this.addText(start, i);
        this.add({ type: 'br' });
        end = i + 1;
      } else if (c === '`') {
        let len = 1;
        while (text[i + len] === '`') len += 1;
        this.closingRun ??= backtickRuns(text);
        const close = this.closingRun(i + len, len);
        if (close < 0) {
          i += len; // no closer: the run is text
          continue;
        }
        let code = text.slice(i + len, close).replace(/\n/g, ' ');
        if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
        this.addText(start, i);
        this.add({ type: 'code', text: code });
        end = close + len;
      } else if (c === '*' || c === '_') {
        let count = 1;
        while (text[i + count] === c) count += 1;
        this.addText(start, i);
        const cell = this.add(null, i, i + count);
        const flags = flanking(c, text[i - 1], text[i + count]);
        if (flags) this.pushDelim(cell, c.charCodeAt(0), count, flags);
        end = i + count;
      } else if (c === '[' || (c === '!' && text[i + 1] === '[')) {
        this.addText(start, i);
        end = this.openBracket(i, c === '!');
      } else if (c === ']' && this.brackets.size > 0) {
        this.addText(start, i);
        start = i;
        end = this.closeBracket(i);
      } else if (c === '<') {
        const m = matchAt(AUTOLINK, text, i);
        const href = m && safeUrl(m[1]);
        if (href) {
          this.addText(start, i);
          this.add({ type: 'link', href, children: [{ type: 'text', text: m[1] }] });
          end = i + m[0].length;
        }
      } else if ((c === 'h' || c === 'H') && !isWordChar(text[i - 1])) {
        const m = matchAt(BARE_URL, text, i);
        // Trailing punctuation is not part of a bare URL.
        let url = m ? m[0].replace(/[.,:;!?]+$/, '') : '';
        if (url.endsWith(')') && !url.includes('(')) url = url.slice(0, -1);
        const href = url && safeUrl(url);
        if (href) {
          this.addText(start, i);
          this.add({ type: 'link', href, children: [{ type: 'text', text: url }] });
          end = i + url.length;
        }
      }
      if (end < 0) {
        i += 1;
      } else {
        i = start = end;
      }
    }
    this.addText(start, i);
    this.processEmphasis(NONE);
    return this.collect(this.cells.next[HEAD], HEAD);
  }
}

/** The block tree of `text`. */
export function parse(text) {
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  return parseBlocks(lines, 0);
}

// -- rendering ----------------------------------------------------------------

/** The text of inline nodes without their formatting; a loop, not
 * recursion, as emphasis can nest as deep as the text is long. */
function plainText(nodes) {
  let out = '';
  const todo = [...nodes].reverse();
  while (todo.length) {
    const n = todo.pop();
    if (n.children) for (let k = n.children.length - 1; k >= 0; k -= 1) todo.push(n.children[k]);
    else out += n.type === 'br' ? '\n' : n.text;
  }
  return out;
}

function renderInline(nodes, doc, parent, depth = 0) {
  for (const n of nodes) {
    if (n.children && depth >= MAX_DEPTH) {
      parent.appendChild(doc.createTextNode(plainText(n.children)));
      continue;
    }
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
        renderInline(n.children, doc, a, depth + 1);
        parent.appendChild(a);
        break;
      }
      default: { // strong, em
        const e = doc.createElement(n.type);
        renderInline(n.children, doc, e, depth + 1);
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
