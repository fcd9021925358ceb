// The app API (API.md Part B) over same-origin fetches. The session is
// the HttpOnly cookie set by login; state-changing requests are JSON.

export class ApiError extends Error {
  constructor(status, detail, retryAfter = null) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail || `HTTP ${status}`;
    this.retryAfter = retryAfter;
  }
}

let onUnauthorized = () => {};

/** Called with no arguments whenever a request answers 401. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const detail = data && typeof data.detail === 'string' ? data.detail : `${res.status} ${res.statusText}`;
    const err = new ApiError(res.status, detail, res.headers.get('Retry-After'));
    if (res.status === 401 && path !== '/api/auth/login') onUnauthorized();
    throw err;
  }
  return data;
}

const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const text = s.toString();
  return text ? `?${text}` : '';
};
const enc = encodeURIComponent;

export const api = {
  login: (username, password) => request('POST', '/api/auth/login', { username, password }),
  logout: () => request('POST', '/api/auth/logout'),
  me: () => request('GET', '/api/me'),

  // Every agent: the list is paged (200 at most per page).
  agents: async () => {
    const all = [];
    for (;;) {
      const before = all.length ? all[all.length - 1].agent_id : undefined;
      const page = await request('GET', `/api/agents${q({ before, limit: 200 })}`);
      all.push(...page);
      if (page.length < 200) return all;
    }
  },
  agent: (id) => request('GET', `/api/agents/${enc(id)}`),
  createAgent: (body) => request('POST', '/api/agents', body),
  updateAgent: (id, body) => request('PATCH', `/api/agents/${enc(id)}`, body),
  deleteAgent: (id) => request('DELETE', `/api/agents/${enc(id)}`),
  rotateSecret: (id) => request('POST', `/api/agents/${enc(id)}/secret`),
  rotateWebhookSecret: (id) => request('POST', `/api/agents/${enc(id)}/webhook-secret`),

  conversations: (agentId) => request('GET', `/api/agents/${enc(agentId)}/conversations`),
  messages: (convId, before, limit = 50) => request('GET', `/api/conversations/${enc(convId)}/messages${q({ before, limit })}`),
  sendMessage: (agentId, body) => request('POST', `/api/agents/${enc(agentId)}/messages`, body),

  decisions: (params = {}) => request('GET', `/api/decisions${q(params)}`),
  resolve: (id, body) => request('POST', `/api/decisions/${enc(id)}/resolve`, body),

  activity: (params = {}) => request('GET', `/api/activity${q(params)}`),

  tasks: (params = {}) => request('GET', `/api/tasks${q(params)}`),
  createTask: (agentId, body) => request('POST', `/api/tasks/${enc(agentId)}`, body),
  updateTask: (id, body) => request('PATCH', `/api/tasks/${enc(id)}`, body),
  deleteTask: (id) => request('DELETE', `/api/tasks/${enc(id)}`),
  runTask: (id) => request('POST', `/api/tasks/${enc(id)}/run`),
  runs: (id, params = {}) => request('GET', `/api/tasks/${enc(id)}/runs${q(params)}`),

  deliveries: (agentId, params = {}) => request('GET', `/api/agents/${enc(agentId)}/deliveries${q(params)}`),

  decision: (id) => request('GET', `/api/decisions/${enc(id)}`),
  pushKey: () => request('GET', '/api/push/key'),
  subscriptions: () => request('GET', '/api/push/subscriptions'),
  addSubscription: (body) => request('POST', '/api/push/subscriptions', body),
  deleteSubscription: (id) => request('DELETE', `/api/push/subscriptions/${enc(id)}`),
  notifications: () => request('GET', '/api/notifications'),
  updateNotifications: (body) => request('PATCH', '/api/notifications', body),
  testChannel: (channel) => request('POST', `/api/notifications/${enc(channel)}/test`),
};
