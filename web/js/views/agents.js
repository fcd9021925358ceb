// The agent list (sidebar on desktop, the home screen on a phone), the
// create-agent dialog and the show-once secret dialog.
import { api } from '../api.js';
import { el, field, copyField, copyBlock, clear, setChildren } from '../util.js';
import { openDialog, busy } from '../dialog.js';
import { store, subscribe, sortedAgents, putAgent } from '../store.js';

export function quickstartCurl(agentId, secret) {
  return [
    `curl -X POST ${location.origin}/api/agent/events \\`,
    `  -H "X-Nod-Agent-Id: ${agentId}" \\`,
    `  -H "X-Nod-Secret: ${secret}" \\`,
    '  -H "Content-Type: application/json" \\',
    `  -d '{"type":"message","text":"Hello from my agent!"}'`,
  ].join('\n');
}

/** Shows an agent's secret, this once, with copy buttons and the quickstart. */
export function showSecretDialog(agent, { created = false } = {}) {
  const body = [
    el('p', { class: 'notice warn', role: 'note' },
      el('strong', { text: 'Copy the secret now. ' }),
      'It is shown only this once and stored only as a hash; if you lose it, rotate it.'),
    copyField('Agent ID', agent.agent_id || agent.id, 'secret-agent-id'),
    copyField('Secret', agent.secret, 'secret-value'),
  ];
  if (agent.webhook_secret) {
    body.push(copyField('Webhook signing secret', agent.webhook_secret, 'secret-webhook'));
  }
  body.push(
    el('h3', { class: 'small-heading', text: 'Send a first message' }),
    copyBlock('Paste into a terminal:', quickstartCurl(agent.agent_id || agent.id, agent.secret), 'secret-curl'),
  );
  const done = el('button', { type: 'button', class: 'btn primary', value: 'close', testid: 'secret-done', text: 'I have saved it' });
  return openDialog({
    title: created ? `Agent “${agent.name}” created` : `New secret for “${agent.name}”`,
    testid: 'secret-dialog', wide: true, body, actions: [done],
  });
}

/** The create-agent dialog; `onCreated(agent)` after success. */
export function openCreateAgent(onCreated) {
  const name = el('input', { name: 'name', required: true, maxlength: 200, testid: 'agent-name-input', autofocus: true });
  const description = el('textarea', { name: 'description', rows: 2, testid: 'agent-description-input' });
  const webhook = el('input', { name: 'webhook_url', type: 'url', placeholder: 'https://… (optional)', testid: 'agent-webhook-input' });
  const type = el('select', { name: 'type', testid: 'agent-type-input' },
    el('option', { value: 'interactive', text: 'Interactive (chat, tasks and decisions)' }),
    el('option', { value: 'approval_only', text: 'Approval only (decisions, alerts, status)' }));
  const error = el('p', { class: 'form-error', role: 'alert' });
  const submit = el('button', { type: 'submit', class: 'btn primary', testid: 'create-agent-submit', text: 'Create agent' });
  const form = el('form', { testid: 'create-agent-form', novalidate: true },
    field('Name', name),
    field('Description', description),
    field('Webhook URL', webhook, 'Events go here when the agent has no open WebSocket.'),
    field('Type', type),
    error,
    el('div', { class: 'dialog-actions' }, el('button', { type: 'button', class: 'btn', value: 'close', text: 'Cancel' }), submit));
  const dlg = openDialog({ title: 'New agent', testid: 'create-agent-dialog', body: [form] });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) {
      error.textContent = 'name: is required';
      name.focus();
      return;
    }
    const payload = { name: name.value.trim(), type: type.value };
    if (description.value.trim()) payload.description = description.value.trim();
    if (webhook.value.trim()) payload.webhook_url = webhook.value.trim();
    busy(submit, async () => {
      const agent = await api.createAgent(payload);
      putAgent(agent);
      dlg.close();
      showSecretDialog(agent, { created: true });
      onCreated?.(agent);
    }, error);
  });
}

function agentRow(agent, selected) {
  const status = agent.processing
    ? el('span', { class: 'thinking', testid: 'agent-thinking' }, `Thinking… ${agent.status_text && agent.status_text !== 'Thinking' ? agent.status_text : ''}`.trim())
    : el('span', { text: agent.online ? 'Online' : 'Offline' });
  const badges = [];
  if (agent.pending_decisions > 0) {
    badges.push(el('span', {
      class: 'badge accent', testid: 'agent-pending', title: `${agent.pending_decisions} pending decisions`,
      'aria-label': `${agent.pending_decisions} pending decisions`, text: String(agent.pending_decisions),
    }));
  }
  if (agent.undelivered_events > 0) {
    badges.push(el('span', {
      class: 'badge warn', testid: 'agent-undelivered', title: `${agent.undelivered_events} undelivered events`,
      'aria-label': `${agent.undelivered_events} undelivered events`, text: `↑${agent.undelivered_events}`,
    }));
  }
  return el('li', {},
    el('a', {
      class: 'agent-row', href: `#/agents/${agent.id}`, testid: 'agent-row',
      'data-agent-id': agent.id, 'data-online': String(!!agent.online), 'aria-current': selected ? 'page' : null,
    },
    el('span', { class: `dot ${agent.online ? 'online' : 'offline'}`, testid: 'agent-dot', 'aria-hidden': 'true' }),
    el('span', { class: 'agent-main' },
      el('span', { class: 'agent-name', text: agent.name }),
      el('span', { class: 'agent-sub' }, status)),
    badges.length ? el('span', { class: 'badges' }, badges) : null));
}

/** The agent list in `root`; `selectedId()` names the open agent. */
export function mountAgentList(root, { selectedId, navigate }) {
  const list = el('ul', { class: 'agent-list', testid: 'agent-list', 'aria-label': 'Agents' });
  const create = el('button', { type: 'button', class: 'btn primary small', testid: 'create-agent', text: '+ New agent' });
  create.addEventListener('click', () => openCreateAgent((agent) => navigate(`#/agents/${agent.id}`)));
  setChildren(root, 
    el('div', { class: 'sidebar-head' }, el('h2', { text: 'Agents' }), create),
    list);

  const render = () => {
    // Live updates redraw the list: keep the keyboard focus where it was.
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.agentId : null;
    clear(list);
    const agents = sortedAgents();
    if (!agents.length) {
      list.append(el('li', { class: 'empty' }, store.agentsLoaded
        ? 'No agents yet. Create one, then connect it with its ID and secret.'
        : 'Loading…'));
      return;
    }
    const sel = selectedId();
    for (const agent of agents) list.append(agentRow(agent, agent.id === sel));
    if (focused) list.querySelector(`[data-agent-id="${CSS.escape(focused)}"]`)?.focus();
  };
  render();
  const unsubscribe = subscribe((what) => { if (what === 'agents') render(); });
  return { render, destroy: unsubscribe };
}
