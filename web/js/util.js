// Small DOM and formatting helpers. Text always goes in as text nodes:
// nothing here ever parses HTML.

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
// The attributes that load or navigate to a URL.
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction']);

/**
 * The URL if it is http(s) or mailto, else null. Without `base` it must be
 * absolute (agent text); with it, relative URLs resolve against it (the
 * app's own links, '#/agents').
 */
export function safeUrl(href, base) {
  const text = String(href).trim();
  if (base === undefined && !/^(https?:\/\/|mailto:)/i.test(text)) return null;
  try {
    const url = new URL(text, base);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Creates an element. `attrs`: class, text, testid, on* (event listeners:
 * functions only, a string throws), dataset keys via data-*, booleans set
 * as properties (disabled, checked, hidden, ...), anything else as an
 * attribute. URL attributes (href, src, ...) are set only if safeUrl()
 * admits them, resolved against the page; otherwise left out. `children`:
 * nodes, strings (as text) or falsy values (skipped), possibly nested in
 * arrays.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'testid') node.dataset.testid = value;
    else if (/^on/i.test(key)) {
      // A string handler would be script compiled from text.
      if (typeof value !== 'function') throw new TypeError(`el: ${key} must be a function`);
      node.addEventListener(key.slice(2), value);
    } else if (URL_ATTRS.has(key.toLowerCase())) {
      if (safeUrl(value, document.baseURI)) node.setAttribute(key, String(value));
    } else if (value === true && key in node) node[key] = true;
    else if (key === 'value') node.value = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** A labelled form field: <div class="field"><label>…</label>control</div>. */
let fieldCount = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++fieldCount}`;
  control.id = id;
  const hintNode = hint ? el('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), control, hintNode);
}

// -- time -------------------------------------------------------------------

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const fullFmt = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});

export function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** "14:03" today, "Mar 3, 14:03" otherwise. */
export function shortTime(iso) {
  const t = parseTime(iso);
  if (t === null) return '';
  const d = new Date(t);
  return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d);
}

export function fullTime(iso) {
  const t = parseTime(iso);
  return t === null ? '' : fullFmt.format(new Date(t));
}

/** "3 minutes ago", "in 5 minutes". */
export function relTime(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (t === null) return '';
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return rtf.format(s, 'second');
  if (abs < 2700) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 64800) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

const secondsFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A <time> element showing `iso` in short form (or with seconds), full form as its title. */
export function timeEl(iso, withSeconds = false) {
  const t = parseTime(iso);
  const text = withSeconds && t !== null ? secondsFmt.format(new Date(t)) : shortTime(iso);
  return el('time', { datetime: iso || '', title: fullTime(iso), text });
}

// -- misc -------------------------------------------------------------------

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (e.g. plain http): select in a hidden textarea.
    const area = el('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    area.remove();
    return ok;
  }
}

/** A button that copies `getText()` and says so. */
export function copyButton(getText, label = 'Copy', testid) {
  const btn = el('button', { type: 'button', class: 'btn small', testid, text: label });
  btn.addEventListener('click', async () => {
    const ok = await copyText(typeof getText === 'function' ? getText() : getText);
    btn.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { btn.textContent = label; }, 1500);
  });
  return btn;
}

/** A read-only value with a copy button. */
export function copyField(label, value, testid) {
  const input = el('input', { type: 'text', readonly: true, class: 'mono', value, testid, id: `f${++fieldCount}` });
  input.addEventListener('focus', () => input.select());
  return el('div', { class: 'field copy-field' },
    el('label', { for: input.id, text: label }),
    el('div', { class: 'copy-row' }, input, copyButton(() => input.value, 'Copy', testid && `${testid}-copy`)));
}

/** A code block with a copy button. */
export function copyBlock(label, text, testid) {
  return el('div', { class: 'copy-block' },
    el('div', { class: 'copy-block-head' }, el('span', { text: label }), copyButton(text, 'Copy', testid && `${testid}-copy`)),
    el('pre', { class: 'mono', testid }, el('code', { text })));
}

/** Media URLs are absolute (public-url); load them from this origin so
 * the CSP (img-src 'self') admits them. */
export function sameOriginMedia(url) {
  if (!url) return null;
  try {
    const u = new URL(url, location.origin);
    if (u.pathname.startsWith('/media/')) return u.pathname;
    return u.origin === location.origin ? u.pathname + u.search : null;
  } catch {
    return null;
  }
}

export function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Pretty JSON for results and payloads (as text). */
export function prettyJSON(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  try { return JSON.stringify(value, null, 2); } catch { return String(value); }
}

/** Replaces the children of `node` (nulls skipped, arrays flattened). */
export function setChildren(node, ...children) {
  clear(node);
  return append(node, children);
}

/**
 * A newest-first list that pages backwards ("Load older"). fetch(before)
 * returns a page; key(item) identifies an item, cursor(item) is what
 * `before` takes; render(item) makes its node. upsert() adds or replaces
 * one item (live pushes); version(item), if given, orders the states of one
 * item (e.g. its updated_at) for a push that crosses a page.
 */
export function pagedList({ list, more, fetch, key, cursor, render, empty, version, pageSize = 50 }) {
  const rows = new Map();
  const versions = new Map();
  let last = null;
  let gen = 0;
  // Live changes that arrive while a fresh page loads: the page replaces the
  // list, so they are applied again on top of it (an item the page has in a
  // newer `version` stays as the page has it).
  let live = null;
  const showEmpty = () => {
    if (!rows.size && !list.querySelector('.empty')) list.append(el('li', { class: 'empty', text: empty }));
  };
  const newer = (a, b) => version !== undefined && a !== undefined && b !== undefined && a > b;
  const upsert = (item) => {
    const k = key(item);
    const node = render(item);
    const old = rows.get(k);
    rows.set(k, node);
    if (version) versions.set(k, version(item));
    list.querySelector('.empty')?.remove();
    if (old) old.replaceWith(node);
    else list.prepend(node);
  };
  const remove = (k) => {
    rows.get(k)?.remove();
    rows.delete(k);
    versions.delete(k);
    showEmpty();
  };
  const load = async (older = false) => {
    const mine = ++gen;
    if (!older) live = new Map();
    try {
      const page = await fetch(older ? last : undefined);
      if (mine !== gen) return;
      if (!older) { clear(list); rows.clear(); versions.clear(); }
      for (const item of page) {
        if (rows.has(key(item))) continue;
        const node = render(item);
        rows.set(key(item), node);
        if (version) versions.set(key(item), version(item));
        list.append(node);
      }
      if (page.length) last = cursor(page[page.length - 1]);
      more.hidden = page.length < pageSize;
      if (!older) {
        const changes = live;
        live = null;
        for (const [k, item] of changes) {
          if (item === null) remove(k);
          else if (!newer(versions.get(k), version?.(item))) upsert(item);
        }
      }
      showEmpty();
    } catch (err) {
      if (mine === gen) {
        live = null;
        setChildren(list, el('li', { class: 'form-error', text: err.detail || String(err) }));
      }
    }
  };
  more.addEventListener('click', () => load(true));
  return {
    load,
    has: (k) => rows.has(k),
    upsert(item) {
      live?.set(key(item), item);
      upsert(item);
    },
    remove(k) {
      live?.set(k, null);
      remove(k);
    },
  };
}

/** Runs `redraw()` and puts the focus back on the element with the same
 * data-testid inside `container` (or `fallback`) if it was inside. */
export function keepFocus(container, redraw, fallback) {
  const active = document.activeElement;
  const had = active && container.contains(active) ? active.dataset.testid || '' : null;
  redraw();
  if (had === null) return;
  const target = (had && container.querySelector(`[data-testid="${CSS.escape(had)}"]`)) || fallback?.();
  target?.focus();
}
