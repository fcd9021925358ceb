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
    if (child.nodeName === '#fragment') this.childNodes.push(...child.childNodes);
    else this.childNodes.push(child);
    return child;
  }
  append(...children) {
    for (const c of children) this.appendChild(typeof c === 'string' ? fakeDocument.createTextNode(c) : c);
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
