// A minimal document for rendering tests in Node: just what
// web/js/markdown.js and util.js's el() use, and a serializer that escapes
// text.

export class FakeNode {
  constructor(nodeName) {
    this.nodeName = nodeName;
    this.childNodes = [];
    this.attributes = new Map();
    this.listeners = [];
    this.dataset = {};
  }
  appendChild(child) {
    const added = child.nodeName === '#fragment' ? child.childNodes : [child];
    for (const c of added) c.parentNode = this;
    this.childNodes.push(...added);
    return child;
  }
  append(...children) {
    for (const c of children) this.appendChild(typeof c === 'string' ? fakeDocument.createTextNode(c) : c);
  }
  // The list operations of util.js's pagedList.
  prepend(child) {
    child.parentNode = this;
    this.childNodes.unshift(child);
  }
  get firstChild() {
    return this.childNodes[0] ?? null;
  }
  removeChild(child) {
    this.childNodes = this.childNodes.filter((c) => c !== child);
    child.parentNode = null;
    return child;
  }
  remove() {
    this.parentNode?.removeChild(this);
  }
  replaceWith(node) {
    const at = this.parentNode.childNodes.indexOf(this);
    node.parentNode = this.parentNode;
    this.parentNode.childNodes[at] = node;
    this.parentNode = null;
  }
  /** Only `.class` among the children, enough for the lists. */
  querySelector(selector) {
    const cls = selector.slice(1);
    return this.childNodes.find((c) => (c.getAttribute?.('class') ?? '').split(' ').includes(cls)) ?? null;
  }
  addEventListener(type, listener) {
    this.listeners.push([type, listener]);
  }
  set className(value) {
    this.setAttribute('class', value);
  }
  set textContent(text) {
    this.childNodes = [fakeDocument.createTextNode(text)];
  }
  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }
  getAttribute(name) {
    return this.attributes.has(name) ? this.attributes.get(name) : null;
  }
  get textContent() {
    if (this.nodeName === '#text') return this.data;
    return this.childNodes.map((c) => c.textContent).join('');
  }
}

export const fakeDocument = {
  baseURI: 'https://nod.example/',
  createElement: (tag) => new FakeNode(tag.toLowerCase()),
  createTextNode: (text) => Object.assign(new FakeNode('#text'), { data: String(text) }),
  createDocumentFragment: () => new FakeNode('#fragment'),
};

const escapeText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s) => escapeText(s).replace(/"/g, '&quot;');

/** Serializes like innerHTML does. */
export function toHTML(node) {
  if (node.nodeName === '#text') return escapeText(node.data);
  const inner = node.childNodes.map(toHTML).join('');
  if (node.nodeName === '#fragment') return inner;
  const attrs = [...node.attributes].map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  if (node.nodeName === 'br' || node.nodeName === 'hr') return `<${node.nodeName}${attrs}>`;
  return `<${node.nodeName}${attrs}>${inner}</${node.nodeName}>`;
}

/** Every element in the tree (depth first). */
export function elements(node, out = []) {
  for (const c of node.childNodes) {
    if (c.nodeName !== '#text') {
      out.push(c);
      elements(c, out);
    }
  }
  return out;
}
