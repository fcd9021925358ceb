// Decision cards (in the requests inbox and inline in chats) and the
// inbox itself. A card shows the answers its kind allows; every card of a
// decision is redrawn at once when it is resolved anywhere.
import { api } from '../api.js';
import { el, field, timeEl, relTime, parseTime, setChildren, pagedList, keepFocus } from '../util.js';
import { render as markdown } from '../markdown.js';
import { busy } from '../dialog.js';
import { store, agentName, subscribe, sortedAgents } from '../store.js';

const KIND_LABEL = {
  approval: 'Approval', choice: 'Choice', question: 'Question', permission: 'Permission', task_proposal: 'Task proposal',
};
const STATUS_LABEL = {
  approved: 'Approved', rejected: 'Rejected', responded: 'Answered', dismissed: 'Dismissed', expired: 'Expired',
};

function expiryText(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (t === null) return '';
  return t <= now ? 'Expired' : `Expires ${relTime(iso, now)}`;
}

/** Keeps every "expires in …" text current. */
export function startExpiryTicker() {
  return setInterval(() => {
    for (const node of document.querySelectorAll('[data-expires-at]')) {
      node.textContent = expiryText(node.dataset.expiresAt);
      node.classList.toggle('expired', parseTime(node.dataset.expiresAt) <= Date.now());
    }
  }, 10000);
}

/** Redraws every card of `decision` on the page. */
export function updateDecisionCards(decision) {
  if (!decision?.id) return;
  for (const card of document.querySelectorAll(`[data-decision-id="${CSS.escape(decision.id)}"]`)) {
    const next = decisionCard(decision, { showAgent: card.dataset.showAgent === 'true' });
    const parent = card.parentNode;
    // Whoever answered with the keyboard lands on the card's outcome.
    keepFocus(parent, () => card.replaceWith(next), () => next.querySelector('[data-testid="decision-resolution"]') || next);
  }
}

function resolveWith(decision, body, button, error) {
  const place = button.closest('[data-decision-id]')?.parentNode;
  return busy(button, async () => {
    const updated = await api.resolve(decision.id, body);
    store.pending.delete(decision.id);
    updateDecisionCards(updated);
    // The button is gone: keep keyboard users on this card.
    if (place && (!document.activeElement || document.activeElement === document.body)) {
      place.querySelector('[data-testid="decision-resolution"]')?.focus();
    }
  }, error);
}

/** An optional note, labelled for screen readers, compact on screen. */
function noteField(note) {
  note.id = `note-${Math.random().toString(36).slice(2)}`;
  note.placeholder = 'Add a note (optional)';
  return el('div', { class: 'field note-field' }, el('label', { for: note.id, class: 'sr-only', text: 'Note (optional)' }), note);
}

function btn(text, testid, cls = '') {
  return el('button', { type: 'button', class: `btn ${cls}`.trim(), testid, text });
}

function pendingActions(d, error) {
  const parts = [];
  const dismiss = btn('Dismiss', 'decision-dismiss', 'ghost');
  dismiss.addEventListener('click', () => resolveWith(d, { status: 'dismissed' }, dismiss, error));

  const withNote = (body, note) => (note.value.trim() ? { ...body, note: note.value.trim() } : body);
  switch (d.kind) {
    case 'choice': {
      const options = el('div', { class: 'options', role: 'group', 'aria-label': 'Options' });
      for (const option of d.options || []) {
        const b = btn(option, 'decision-option', 'option');
        b.addEventListener('click', () => resolveWith(d, { status: 'responded', note: option }, b, error));
        options.append(b);
      }
      const other = el('input', { type: 'text', testid: 'decision-other', placeholder: 'Type another answer' });
      const send = btn('Send', 'decision-submit', 'primary');
      const form = el('form', { class: 'inline-form' }, field('Other', other), send);
      send.type = 'submit';
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!other.value.trim()) { error.textContent = 'Type an answer first.'; other.focus(); return; }
        resolveWith(d, { status: 'responded', note: other.value.trim() }, send, error);
      });
      parts.push(options, form, el('div', { class: 'decision-buttons' }, dismiss));
      break;
    }
    case 'question': {
      const answer = el('textarea', { rows: 2, testid: 'decision-answer', placeholder: 'Your answer' });
      const send = btn('Send answer', 'decision-submit', 'primary');
      send.type = 'submit';
      const form = el('form', { class: 'answer-form' }, field('Answer', answer), el('div', { class: 'decision-buttons' }, send, dismiss));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!answer.value.trim()) { error.textContent = 'Type an answer first.'; answer.focus(); return; }
        resolveWith(d, { status: 'responded', note: answer.value.trim() }, send, error);
      });
      answer.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
      });
      parts.push(form);
      break;
    }
    case 'permission': {
      const note = el('input', { type: 'text', testid: 'decision-note' });
      const allow = btn('Allow', 'decision-approve', 'primary');
      allow.addEventListener('click', () => resolveWith(d, withNote({ status: 'approved' }, note), allow, error));
      const deny = btn('Deny', 'decision-reject', 'danger');
      deny.addEventListener('click', () => resolveWith(d, withNote({ status: 'rejected' }, note), deny, error));
      const always = [];
      const offered = d.always_allow_options || [];
      if (offered.length) {
        for (const o of offered) {
          const b = btn(`Always allow: ${o.label || o.pattern}`, 'decision-always', 'option');
          b.dataset.pattern = o.pattern;
          b.title = o.pattern;
          b.addEventListener('click', () => resolveWith(d,
            withNote({ status: 'approved', always_allow: true, always_allow_pattern: o.pattern }, note), b, error));
          always.push(b);
        }
      } else if (d.allows_always) {
        const b = btn(d.always_allow_label || 'Always allow', 'decision-always', 'option');
        b.addEventListener('click', () => resolveWith(d, withNote({ status: 'approved', always_allow: true }, note), b, error));
        always.push(b);
      }
      parts.push(noteField(note),
        el('div', { class: 'decision-buttons' }, allow, always, deny, dismiss));
      break;
    }
    default: { // approval, task_proposal
      const note = el('input', { type: 'text', testid: 'decision-note' });
      const approve = btn('Approve', 'decision-approve', 'primary');
      approve.addEventListener('click', () => resolveWith(d, withNote({ status: 'approved' }, note), approve, error));
      const reject = btn('Reject', 'decision-reject', 'danger');
      reject.addEventListener('click', () => resolveWith(d, withNote({ status: 'rejected' }, note), reject, error));
      parts.push(noteField(note), el('div', { class: 'decision-buttons' }, approve, reject, dismiss));
    }
  }
  return parts;
}

/** A card for one decision. */
export function decisionCard(d, { showAgent = false } = {}) {
  const titleId = `dec-${d.id}`;
  const error = el('p', { class: 'form-error', role: 'alert' });
  const pending = d.status === 'pending';
  const card = el('article', {
    class: `decision-card kind-${d.kind} status-${d.status}`, testid: 'decision-card', 'aria-labelledby': titleId,
    'data-decision-id': d.id, 'data-kind': d.kind, 'data-status': d.status, 'data-show-agent': String(showAgent),
  },
  el('header', { class: 'decision-head' },
    el('span', { class: `chip kind`, text: KIND_LABEL[d.kind] || d.kind }),
    showAgent ? el('a', { class: 'decision-agent', href: `#/agents/${d.agent_id}`, text: agentName(d.agent_id) }) : null,
    d.task_run_id ? el('span', { class: 'chip subtle', text: 'task run' }) : null,
    timeEl(d.created_at)),
  el('h3', { id: titleId, class: 'decision-title', text: d.title }),
  d.description ? el('div', { class: 'md' }, markdown(d.description)) : null);

  if (d.kind === 'task_proposal') {
    card.append(el('dl', { class: 'proposal' },
      el('dt', { text: 'Task' }), el('dd', { text: d.task_name || '' }),
      el('dt', { text: 'Schedule' }), el('dd', { class: 'mono', text: d.task_schedule || '' }),
      el('dt', { text: 'Prompt' }), el('dd', { class: 'prompt', text: d.task_prompt || '' })));
  }
  if (pending && d.expires_at) {
    card.append(el('p', {
      class: `expiry${parseTime(d.expires_at) <= Date.now() ? ' expired' : ''}`, testid: 'decision-expiry',
      'data-expires-at': d.expires_at, title: d.expires_at, text: expiryText(d.expires_at),
    }));
  }
  if (pending) {
    card.append(el('div', { class: 'decision-actions' }, pendingActions(d, error)), error);
  } else {
    const extra = [];
    if (d.note) extra.push(el('q', { class: 'note', text: d.note }));
    if (d.always_allow) extra.push(el('span', { class: 'chip subtle', text: d.always_allow_pattern ? `always: ${d.always_allow_pattern}` : 'always' }));
    card.append(el('p', { class: `resolution status-${d.status}`, testid: 'decision-resolution', tabindex: '-1' },
      el('span', { class: `chip state-${d.status}`, text: STATUS_LABEL[d.status] || d.status }),
      extra, d.resolved_at ? timeEl(d.resolved_at) : null));
  }
  return card;
}

// -- the inbox ------------------------------------------------------------------

export function mountInbox(root) {
  const status = el('select', { testid: 'inbox-status' },
    el('option', { value: 'pending', text: 'Pending' }), el('option', { value: '', text: 'All' }));
  const agentSel = el('select', { testid: 'inbox-agent' });
  const list = el('ul', { class: 'card-list', testid: 'inbox-list', 'aria-live': 'polite' });
  const more = el('button', { type: 'button', class: 'btn', hidden: true, text: 'Load more' });
  const cards = pagedList({
    list, more, empty: 'No requests here.', key: (d) => d.id, cursor: (d) => d.id,
    fetch: (before) => api.decisions({ status: status.value, agent_id: agentSel.value, before, limit: 50 }),
    render: (d) => el('li', {}, decisionCard(d, { showAgent: true })),
  });
  const fillAgents = () => {
    const current = agentSel.value;
    setChildren(agentSel, el('option', { value: '', text: 'All agents' }),
      sortedAgents().map((a) => el('option', { value: a.id, text: a.name })));
    agentSel.value = current;
  };
  fillAgents();
  status.addEventListener('change', () => cards.load());
  agentSel.addEventListener('change', () => cards.load());

  setChildren(root, el('div', { class: 'page scroll-pane' },
    el('header', { class: 'page-head' }, el('h1', { text: 'Requests' }),
      el('div', { class: 'filters' }, field('Show', status), field('Agent', agentSel))),
    list, more));
  cards.load();
  const unsubscribe = subscribe((what) => { if (what === 'agents') fillAgents(); });

  return {
    onFrame(f) {
      // Resolved cards are redrawn in place (updateDecisionCards) and stay until the next load.
      const d = f.type === 'decision_created' ? f.decision : null;
      if (d && !cards.has(d.id) && (!status.value || d.status === status.value) && (!agentSel.value || d.agent_id === agentSel.value)) {
        cards.upsert(d);
      }
    },
    refresh: () => cards.load(),
    destroy: unsubscribe,
  };
}

/** One request, opened from a notification (#/decisions/{id}[/approve|/reject]). */
export function mountDecision(root, { id, answer }) {
  const page = el('div', { class: 'page scroll-pane' });
  setChildren(root, page);
  api.decision(id).then((d) => {
    const hint = answer && d.status === 'pending'
      ? el('p', { class: 'hint', testid: 'decision-confirm', text: answer === 'approve' ? 'Tap Approve (or Allow) to confirm.' : 'Tap Reject (or Deny) to confirm.' })
      : null;
    const card = decisionCard(d, { showAgent: true });
    setChildren(page, el('header', { class: 'page-head' }, el('h1', { text: 'Request' })), hint, card);
    const target = answer === 'approve' ? '[data-testid="decision-approve"]' : answer === 'reject' ? '[data-testid="decision-reject"]' : null;
    card.querySelector(target || 'h3')?.focus?.();
  }, (err) => {
    setChildren(page, el('p', { class: 'form-error', role: 'alert', text: err.status === 404 ? 'This request does not exist (or is not yours).' : err.detail }));
  });
  return {
    onFrame(f) {
      if (f.type === 'decision_resolved' && f.decision?.id === id) {
        // The card redraws itself (updateDecisionCards); drop the hint.
        page.querySelector('[data-testid="decision-confirm"]')?.remove();
      }
    },
  };
}
