// What every screen shares: the user, the agents with their live state,
// and the pending decisions (for the inbox badge). Views subscribe to
// changes; live frames are applied here first.
import { api } from './api.js';

export const store = {
  user: null,
  agents: new Map(),
  agentsLoaded: false,
  pending: new Map(),
  pendingMore: false,
};

const listeners = new Set();

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(what) {
  for (const fn of listeners) fn(what);
}

export function agentName(id) {
  return store.agents.get(id)?.name || id;
}

export function sortedAgents() {
  return [...store.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export async function loadAgents() {
  const list = await api.agents();
  const next = new Map();
  for (const a of list) next.set(a.id, { ...store.agents.get(a.id), ...a });
  store.agents = next;
  store.agentsLoaded = true;
  emit('agents');
}

export function putAgent(agent) {
  const old = store.agents.get(agent.id) || {};
  // Single-agent replies after create/rotate carry no live fields worth keeping over ours.
  store.agents.set(agent.id, { ...old, ...agent, secret: undefined });
  emit('agents');
}

export function removeAgent(id) {
  store.agents.delete(id);
  for (const [did, d] of store.pending) if (d.agent_id === id) store.pending.delete(did);
  emit('agents');
  emit('pending');
}

const PENDING_LIMIT = 200;

export async function loadPending() {
  const list = await api.decisions({ status: 'pending', limit: PENDING_LIMIT });
  store.pending = new Map(list.map((d) => [d.id, d]));
  store.pendingMore = list.length === PENDING_LIMIT;
  emit('pending');
}

let agentsRefresh = null;

/** Re-reads the agent list soon (counts change with decisions, deliveries). */
export function refreshAgentsSoon() {
  clearTimeout(agentsRefresh);
  agentsRefresh = setTimeout(() => { loadAgents().catch(() => {}); }, 400);
}

export function applyFrame(frame) {
  // An agent we do not know yet (created in another window): read the list again.
  const obj = frame.message || frame.decision || frame.activity || frame.delivery || frame.run;
  const agentId = frame.agent_id || obj?.agent_id;
  if (agentId && store.agentsLoaded && !store.agents.has(agentId)) refreshAgentsSoon();
  switch (frame.type) {
    case 'agent_status': {
      const a = store.agents.get(frame.agent_id);
      if (a) {
        a.online = frame.online;
        if (!frame.online) { a.processing = false; }
        emit('agents');
      }
      break;
    }
    case 'processing': {
      const a = store.agents.get(frame.agent_id);
      if (a) {
        a.processing = frame.processing;
        a.status_text = frame.status_text;
        a.processing_conversation = frame.conversation_id;
        emit('agents');
      }
      break;
    }
    case 'decision_created':
      if (frame.decision?.status === 'pending') store.pending.set(frame.decision.id, frame.decision);
      emit('pending');
      refreshAgentsSoon();
      break;
    case 'decision_resolved':
      store.pending.delete(frame.decision?.id);
      emit('pending');
      refreshAgentsSoon();
      break;
    case 'delivery':
      refreshAgentsSoon();
      break;
    default:
  }
}

export function reset() {
  store.user = null;
  store.agents = new Map();
  store.agentsLoaded = false;
  store.pending = new Map();
  emit('agents');
  emit('pending');
}
