// The activity feed, overall or for one agent, newest first.
import { api } from '../api.js';
import { el, timeEl, prettyJSON, setChildren, pagedList } from '../util.js';
import { agentName } from '../store.js';

const KIND = {
  agent_message: ['Message', 'M'],
  decision_created: ['Request', '?'],
  decision_resolved: ['Resolved', '✓'],
  agent_action: ['Alert', '!'],
  system: ['Status', 'i'],
};

function link(entry) {
  const ref = entry.ref_id || '';
  if (ref.startsWith('msg_')) return `#/agents/${entry.agent_id}`;
  if (ref.startsWith('dec_')) return '#/requests';
  if (ref.startsWith('run_')) return `#/agents/${entry.agent_id}/tasks`;
  return null;
}

function entryNode(entry, showAgent) {
  const [label, icon] = KIND[entry.kind] || [entry.kind, '•'];
  const href = link(entry);
  const details = entry.details !== null && entry.details !== undefined
    ? el('details', { class: 'details' }, el('summary', { text: 'Details' }), el('pre', { class: 'mono', text: prettyJSON(entry.details) }))
    : null;
  return el('li', { class: `activity kind-${entry.kind}`, testid: 'activity-item', 'data-activity-id': entry.id },
    el('span', { class: 'activity-icon', 'aria-hidden': 'true', text: icon }),
    el('div', { class: 'activity-main' },
      el('div', { class: 'activity-head' },
        el('span', { class: 'chip subtle', text: label }),
        showAgent ? el('a', { href: `#/agents/${entry.agent_id}`, class: 'activity-agent', text: agentName(entry.agent_id) }) : null,
        timeEl(entry.created_at)),
      href ? el('a', { href, class: 'activity-title', text: entry.title }) : el('span', { class: 'activity-title', text: entry.title }),
      entry.text ? el('p', { class: 'activity-text', text: entry.text }) : null,
      details));
}

export function mountActivity(root, { agentId } = {}) {
  const list = el('ol', { class: 'activity-list', testid: 'activity-list', 'aria-live': 'polite' });
  const more = el('button', { type: 'button', class: 'btn', hidden: true, testid: 'activity-more', text: 'Load older' });
  const feed = pagedList({
    list, more, empty: 'Nothing has happened yet.', key: (e) => e.id, cursor: (e) => e.id,
    fetch: (before) => api.activity({ agent_id: agentId, before, limit: 50 }),
    render: (e) => entryNode(e, !agentId),
  });
  setChildren(root, el('div', { class: 'page scroll-pane' },
    agentId ? null : el('header', { class: 'page-head' }, el('h1', { text: 'Activity' })),
    list, more));
  feed.load();

  return {
    onFrame(f) {
      if (f.type !== 'activity' || !f.activity || feed.has(f.activity.id)) return;
      if (!agentId || f.activity.agent_id === agentId) feed.upsert(f.activity);
    },
    refresh: () => feed.load(),
    destroy() {},
  };
}
