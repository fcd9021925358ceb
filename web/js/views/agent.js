// One agent's page: header, tabs (chat, tasks, activity, deliveries,
// settings) and the settings tab (edit, rotate secrets, delete).
import { api } from '../api.js';
import { el, field, copyField, clear, setChildren } from '../util.js';
import { confirmDialog, busy, toast } from '../dialog.js';
import { store, subscribe, putAgent, removeAgent } from '../store.js';
import { showSecretDialog } from './agents.js';
import { mountChat } from './chat.js';
import { mountTasks } from './tasks.js';
import { mountActivity } from './activity.js';
import { mountDeliveries } from './deliveries.js';

const TABS = [
  ['chat', 'Chat'], ['tasks', 'Tasks'], ['activity', 'Activity'], ['deliveries', 'Deliveries'], ['settings', 'Settings'],
];

function statusLine(agent) {
  if (agent.processing) {
    const text = agent.status_text && agent.status_text !== 'Thinking' ? agent.status_text : '';
    return el('span', { class: 'thinking', testid: 'agent-header-thinking' }, `Thinking… ${text}`.trim());
  }
  return el('span', { text: agent.online ? 'Online' : 'Offline' });
}

export function mountAgent(root, { id, tab = 'chat', navigate }) {
  let agent = store.agents.get(id);
  const title = el('h1', { class: 'agent-title' });
  const dot = el('span', { class: 'dot', 'aria-hidden': 'true' });
  const status = el('span', { class: 'agent-status', testid: 'agent-status' });
  const tabs = el('nav', { class: 'tabs', 'aria-label': 'Agent sections' },
    TABS.map(([key, label]) => el('a', {
      href: key === 'chat' ? `#/agents/${id}` : `#/agents/${id}/${key}`, class: 'tab', testid: `tab-${key}`,
      'aria-current': key === tab ? 'page' : null, text: label,
    })));
  const body = el('div', { class: 'agent-body' });
  setChildren(root, el('div', { class: 'agent-page' },
    el('header', { class: 'page-head' },
      el('a', { href: '#/agents', class: 'back-btn', 'aria-label': 'Back to agents', testid: 'back', text: '‹' }),
      el('div', { class: 'page-title' }, el('div', { class: 'title-row' }, dot, title), status)),
    tabs, body));

  const renderHead = () => {
    agent = store.agents.get(id) || agent;
    if (!agent) return;
    title.textContent = agent.name;
    dot.className = `dot ${agent.online ? 'online' : 'offline'}`;
    setChildren(status, statusLine(agent));
    document.title = `${agent.name} · Nod`;
  };

  let sub = null;
  const mountTab = () => {
    if (!agent) return;
    switch (tab) {
      case 'tasks': sub = mountTasks(body, { agentId: id }); break;
      case 'activity': sub = mountActivity(body, { agentId: id }); break;
      case 'deliveries': sub = mountDeliveries(body, { agentId: id }); break;
      case 'settings': sub = mountSettings(body, { id, navigate }); break;
      default: sub = mountChat(body, { agentId: id });
    }
  };

  const unsubscribe = subscribe((what) => {
    if (what !== 'agents') return;
    if (!store.agents.has(id) && store.agentsLoaded) {
      setChildren(body, el('p', { class: 'empty', text: 'This agent no longer exists.' }));
      sub?.destroy?.();
      sub = null;
      return;
    }
    renderHead();
  });

  if (agent) {
    renderHead();
    mountTab();
  } else {
    body.append(el('p', { class: 'empty', text: 'Loading…' }));
    api.agent(id).then((a) => {
      putAgent(a);
      agent = store.agents.get(id);
      clear(body);
      renderHead();
      mountTab();
    }).catch((err) => {
      setChildren(body, el('p', { class: 'empty', text: err.status === 404 ? 'No such agent.' : err.detail }));
    });
  }

  return {
    onFrame: (f) => sub?.onFrame?.(f),
    refresh: () => sub?.refresh?.(),
    destroy: () => { unsubscribe(); sub?.destroy?.(); },
  };
}

// -- settings -------------------------------------------------------------------

function mountSettings(root, { id, navigate }) {
  const agent = store.agents.get(id);
  const name = el('input', { name: 'name', required: true, value: agent.name, testid: 'settings-name' });
  const description = el('textarea', { name: 'description', rows: 3, testid: 'settings-description' });
  description.value = agent.description || '';
  const webhook = el('input', { name: 'webhook_url', type: 'url', value: agent.webhook_url || '', placeholder: 'https://…', testid: 'settings-webhook' });
  const type = el('select', { name: 'type', testid: 'settings-type' },
    el('option', { value: 'interactive', text: 'Interactive' }),
    el('option', { value: 'approval_only', text: 'Approval only' }));
  type.value = agent.type;
  const error = el('p', { class: 'form-error', role: 'alert' });
  const save = el('button', { type: 'submit', class: 'btn primary', testid: 'settings-save', text: 'Save' });
  const form = el('form', { class: 'card', testid: 'settings-form', novalidate: true },
    el('h2', { text: 'Details' }),
    field('Name', name), field('Description', description),
    field('Webhook URL', webhook, 'Leave empty for none: events then wait for the agent’s WebSocket or poll.'),
    field('Type', type), error, el('div', { class: 'actions' }, save));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(save, async () => {
      const updated = await api.updateAgent(id, {
        name: name.value.trim(),
        description: description.value.trim() || null,
        webhook_url: webhook.value.trim() || null,
        type: type.value,
      });
      putAgent(updated);
      toast('Saved.');
    }, error);
  });

  const whSlot = el('div', { class: 'wh-slot' }, el('p', { class: 'muted', text: 'Loading…' }));
  const showWebhookSecret = (secret) => {
    setChildren(whSlot, copyField('Webhook signing secret', secret || '', 'webhook-secret'));
  };
  api.agent(id).then((a) => showWebhookSecret(a.webhook_secret)).catch(() => clear(whSlot));

  const rotate = confirmedButton({
    testid: 'rotate-secret', text: 'Rotate agent secret…', confirmLabel: 'Rotate',
    title: 'Rotate the agent secret?',
    message: 'The current secret stops working at once and the agent’s open WebSockets are closed. The new secret is shown once.',
    run: async () => {
      const a = await api.rotateSecret(id);
      putAgent(a);
      showWebhookSecret(a.webhook_secret);
      showSecretDialog(a);
    },
  });
  const rotateWh = confirmedButton({
    testid: 'rotate-webhook-secret', text: 'Rotate webhook secret…', confirmLabel: 'Rotate',
    title: 'Rotate the webhook signing secret?',
    message: 'Webhooks are signed with the new secret from now on; update your receiver.',
    run: async () => {
      const a = await api.rotateWebhookSecret(id);
      putAgent(a);
      showWebhookSecret(a.webhook_secret);
      toast('Webhook secret rotated.');
    },
  });
  const del = confirmedButton({
    cls: 'btn danger', testid: 'delete-agent', text: 'Delete agent…', confirmLabel: 'Delete',
    title: `Delete “${agent.name}”?`,
    message: 'The agent, its credentials and its tasks are removed; its connections are closed. This cannot be undone.',
    run: async () => {
      await api.deleteAgent(id);
      removeAgent(id);
      toast('Agent deleted.');
      navigate('#/agents');
    },
  });

  setChildren(root, el('div', { class: 'settings scroll-pane' },
    form,
    el('section', { class: 'card' },
      el('h2', { text: 'Credentials' }),
      copyField('Agent ID', id, 'settings-agent-id'),
      whSlot,
      el('div', { class: 'actions' }, rotate, rotateWh)),
    el('section', { class: 'card danger-zone' },
      el('h2', { text: 'Danger zone' }),
      el('div', { class: 'actions' }, del))));
  return { destroy() {} };
}

// A button that asks for confirmation (every use here is irreversible) before
// `run`, and shows itself busy while it works.
function confirmedButton({ cls = 'btn', testid, text, title, message, confirmLabel, run }) {
  const button = el('button', { type: 'button', class: cls, testid, text });
  button.addEventListener('click', async () => {
    if (!await confirmDialog({ title, message, confirmLabel, danger: true })) return;
    busy(button, run);
  });
  return button;
}
