// Deliveries of events to one agent: per event its state, the channel that
// delivered it and every attempt (time, channel, result, HTTP status,
// error), newest first.
import { api } from '../api.js';
import { el, timeEl, relTime, field, plural, setChildren, pagedList } from '../util.js';

const STATE_TEXT = {
  delivered: 'Delivered', retrying: 'Retrying', pending: 'Pending', queued: 'Queued', sent: 'Sent',
};
const CHANNEL = { websocket: 'WebSocket', webhook: 'Webhook', poll: 'Poll', resume: 'Resume' };

function stateLine(d) {
  switch (d.state) {
    case 'delivered': return `Delivered over ${CHANNEL[d.channel] || d.channel || '?'}`;
    case 'retrying': return d.next_attempt_at ? `Next attempt ${relTime(d.next_attempt_at)}` : 'Retrying';
    case 'pending': return 'Waiting for the agent to poll or connect';
    case 'queued': return 'Queued behind earlier events';
    case 'sent': return d.sent_at ? `Sent ${relTime(d.sent_at)}, waiting for the agent's ack` : "Sent, waiting for the agent's ack";
    default: return d.state;
  }
}

function attemptRow(a) {
  const ok = a.result === 'ok';
  const code = a.status_code !== null && a.status_code !== undefined ? `HTTP ${a.status_code}` : '';
  return el('tr', { class: ok ? 'ok' : 'failed', testid: 'delivery-attempt' },
    el('td', {}, timeEl(a.at, true)),
    el('td', { text: CHANNEL[a.channel] || a.channel }),
    el('td', {}, el('span', { class: `chip ${ok ? 'state-delivered' : 'state-failed'}`, text: ok ? 'ok' : 'failed' })),
    el('td', { class: 'mono', text: [code, a.retry_num !== null && a.retry_num !== undefined ? `retry ${a.retry_num}` : ''].filter(Boolean).join(' · ') }),
    el('td', { class: 'mono', text: a.duration_ms !== null && a.duration_ms !== undefined ? `${a.duration_ms} ms` : '' }),
    el('td', { class: 'error-text', text: a.error || '' }));
}

function deliveryRow(d) {
  const attempts = d.attempts || [];
  const table = attempts.length
    ? el('table', { class: 'attempts' },
      el('caption', { class: 'sr-only', text: `Attempts for event ${d.seq}` }),
      el('thead', {}, el('tr', {}, ['Time', 'Channel', 'Result', 'Status', 'Took', 'Error'].map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, attempts.map(attemptRow)))
    : null;
  const row = el('li', {
    class: `delivery state-${d.state}`, testid: 'delivery-row',
    'data-event-id': d.event_id, 'data-state': d.state, 'data-seq': String(d.seq),
  },
  el('div', { class: 'delivery-summary' },
    el('span', { class: 'seq mono', title: d.event_id, text: `#${d.seq}` }),
    el('span', { class: 'delivery-type', text: d.type }),
    el('span', { class: `chip state-${d.state}`, testid: 'delivery-state', text: STATE_TEXT[d.state] || d.state }),
    el('span', { class: 'muted', text: stateLine(d) }),
    el('span', { class: 'muted' }, plural(attempts.length, 'attempt'), ' · ', timeEl(d.updated_at || d.created_at))),
  table);
  row.delivery = d;
  return row;
}

export function mountDeliveries(root, { agentId }) {
  const status = el('select', { testid: 'deliveries-status' },
    el('option', { value: '', text: 'All' }),
    Object.entries(STATE_TEXT).map(([v, t]) => el('option', { value: v, text: t })));
  const list = el('ol', { class: 'delivery-list', testid: 'delivery-list' });
  const more = el('button', { type: 'button', class: 'btn', hidden: true, text: 'Load older' });
  // Records are keyed by seq: `before` is a seq here.
  const rows = pagedList({
    list, more, empty: 'No events have been sent to this agent yet.', key: (d) => d.event_id, cursor: (d) => d.seq,
    // A record's live frames and the page may cross: the later change wins.
    version: (d) => d.updated_at,
    fetch: (before) => api.deliveries(agentId, { status: status.value, before, limit: 50 }),
    render: deliveryRow,
  });
  status.addEventListener('change', () => rows.load());

  setChildren(root, el('div', { class: 'page scroll-pane' },
    el('div', { class: 'filters' },
      el('p', { class: 'muted', text: 'Events sent to this agent (answers, messages, task runs) and how each reached it.' }),
      field('State', status)),
    list, more));
  rows.load();

  // "Next attempt in …" stays current.
  const ticker = setInterval(() => {
    for (const row of list.querySelectorAll('.delivery.state-retrying')) {
      row.querySelector('.delivery-summary .muted').textContent = stateLine(row.delivery);
    }
  }, 1000);

  return {
    onFrame(f) {
      const d = f.type === 'delivery' ? f.delivery : null;
      if (!d || d.agent_id !== agentId) return;
      if (status.value && d.state !== status.value) rows.remove(d.event_id);
      else rows.upsert(d);
    },
    refresh: () => rows.load(),
    destroy: () => clearInterval(ticker),
  };
}
