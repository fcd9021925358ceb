// Modal dialogs (<dialog> with showModal: focus is trapped by the
// browser; the element that opened it gets focus back) and toasts.
import { el } from './util.js';

/**
 * Opens a modal. `body`: nodes; `actions`: buttons (a button with
 * value="close" closes). Returns {dialog, close}. onClose runs once.
 */
export function openDialog({ title, body = [], actions = [], testid, wide = false, fullscreen = false, onClose }) {
  const opener = document.activeElement;
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  const closeBtn = el('button', { type: 'button', class: 'icon-btn dialog-close', 'aria-label': 'Close', text: '×' });
  const dialog = el('dialog', {
    class: `dialog${wide ? ' wide' : ''}${fullscreen ? ' fullscreen' : ''}`, 'aria-labelledby': titleId, testid,
  },
  el('div', { class: 'dialog-head' }, el('h2', { id: titleId, text: title }), closeBtn),
  el('div', { class: 'dialog-body' }, body),
  actions.length ? el('div', { class: 'dialog-actions' }, actions) : null);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    onClose?.();
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  };
  closeBtn.addEventListener('click', close);
  dialog.addEventListener('close', close);
  dialog.addEventListener('click', (ev) => {
    if (ev.target instanceof HTMLElement && ev.target.value === 'close' && ev.target.tagName === 'BUTTON') close();
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = dialog.querySelector('[autofocus], .dialog-body input:not([readonly]), .dialog-body textarea, .dialog-body select');
  (first || closeBtn).focus();
  return { dialog, close };
}

/** Asks a yes/no question; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = 'OK', danger = false, testid = 'confirm-dialog' }) {
  return new Promise((resolve) => {
    let answer = false;
    const yes = el('button', { type: 'button', class: `btn ${danger ? 'danger' : 'primary'}`, testid: 'confirm-yes', text: confirmLabel });
    const no = el('button', { type: 'button', class: 'btn', value: 'close', testid: 'confirm-no', text: 'Cancel' });
    const { close } = openDialog({
      title, testid, body: [el('p', { text: message })], actions: [no, yes],
      onClose: () => resolve(answer),
    });
    yes.addEventListener('click', () => { answer = true; close(); });
    no.focus();
  });
}

let toastRegion = null;

/** A short message in a polite live region. */
export function toast(message, kind = 'info') {
  if (!toastRegion || !toastRegion.isConnected) {
    toastRegion = el('div', { class: 'toasts', role: 'status', 'aria-live': 'polite', testid: 'toasts' });
    document.body.append(toastRegion);
  }
  const item = el('div', { class: `toast ${kind}`, text: message });
  toastRegion.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

/** Runs `fn` with `button` disabled; a failure becomes an error toast
 * (or is shown in `errorEl`). Returns fn's result, or undefined. */
export async function busy(button, fn, errorEl) {
  if (button) button.disabled = true;
  if (errorEl) errorEl.textContent = '';
  try {
    return await fn();
  } catch (err) {
    const message = err?.detail || err?.message || String(err);
    if (errorEl) errorEl.textContent = message;
    else toast(message, 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}
