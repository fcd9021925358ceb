// Nod in the browser: sign-in, the shell (navigation, agent list,
// reconnecting banner), hash routing, and the live WebSocket feeding
// every screen.
import { api, setUnauthorizedHandler } from './js/api.js';
import { Live } from './js/live.js';
import { el, clear, setChildren } from './js/util.js';
import { toast } from './js/dialog.js';
import { store, subscribe, loadAgents, loadPending, applyFrame, reset } from './js/store.js';
import { mountLogin } from './js/views/login.js';
import { mountAgentList, openCreateAgent } from './js/views/agents.js';
import { mountAgent } from './js/views/agent.js';
import { mountInbox, mountDecision, updateDecisionCards, startExpiryTicker } from './js/views/decisions.js';
import { mountSettings } from './js/views/settings.js';
import { registerWorker } from './js/push.js';
import { mountActivity } from './js/views/activity.js';
import { mountTasks } from './js/views/tasks.js';

const root = document.getElementById('app');
let shell = null;
let view = null;
let login = null;
let route = null;

const live = new Live({
  onFrame(frame) {
    applyFrame(frame);
    if (frame.type === 'decision_resolved') updateDecisionCards(frame.decision);
    view?.onFrame?.(frame);
  },
  onState(state) {
    if (!shell) return;
    const down = state === 'offline' || (state === 'connecting' && live.everOnline);
    shell.banner.hidden = !down;
    shell.banner.dataset.state = state;
  },
  onResync() {
    // Anything may have happened while we were away: read it again.
    loadAgents().catch(() => {});
    loadPending().catch(() => {});
    view?.refresh?.();
  },
  onAuthFailed() {
    api.me().catch(() => {}); // a 401 shows the sign-in screen
  },
});

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'agents':
      return parts[1] ? { name: 'agent', id: parts[1], tab: parts[2] || 'chat' } : { name: 'agents' };
    case 'requests': case 'activity': case 'tasks': case 'settings':
      return { name: parts[0] };
    case 'decisions':
      // From a notification: the card, and the answer the button named.
      return parts[1] ? { name: 'decision', id: parts[1], answer: parts[2] || null } : { name: 'requests' };
    default:
      return { name: 'agents' };
  }
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function overview(main) {
  const create = el('button', { type: 'button', class: 'btn primary', text: 'Create an agent' });
  create.addEventListener('click', () => openCreateAgent((a) => navigate(`#/agents/${a.id}`)));
  const pending = el('a', { href: '#/requests', class: 'stat' });
  const draw = () => {
    const n = store.pending.size;
    pending.textContent = n ? `${n}${store.pendingMore ? '+' : ''} pending request${n === 1 ? '' : 's'} ›` : 'No pending requests';
  };
  draw();
  const unsubscribe = subscribe((what) => { if (what === 'pending') draw(); });
  setChildren(main, el('div', { class: 'page overview' },
    el('h1', { text: `Hello, ${store.user?.username || ''}` }),
    el('p', { class: 'muted', text: 'Pick an agent to chat with it, or answer what your agents are waiting for.' }),
    pending,
    el('div', { class: 'actions' }, create)));
  return { destroy: unsubscribe };
}

function render() {
  if (!shell) return;
  const next = parseRoute();
  const sameAgentTab = route && view && next.name === 'agent' && route.name === 'agent' && route.id === next.id && route.tab === next.tab;
  route = next;
  document.body.dataset.route = route.name;
  for (const link of shell.nav.querySelectorAll('a')) {
    const section = { agent: 'agents', decision: 'requests' }[route.name] || route.name;
    const active = link.dataset.nav === section;
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  shell.list.render();
  if (sameAgentTab) return;
  view?.destroy?.();
  view = null;
  const main = shell.main;
  clear(main);
  document.title = 'Nod';
  switch (route.name) {
    case 'agent': view = mountAgent(main, { id: route.id, tab: route.tab, navigate }); break;
    case 'requests': document.title = 'Requests · Nod'; view = mountInbox(main); break;
    case 'activity': document.title = 'Activity · Nod'; view = mountActivity(main); break;
    case 'tasks': document.title = 'Tasks · Nod'; view = mountTasks(main); break;
    case 'settings': document.title = 'Notifications · Nod'; view = mountSettings(main); break;
    case 'decision': document.title = 'Request · Nod'; view = mountDecision(main, route); break;
    default: view = overview(main);
  }
}

function buildShell() {
  const badge = el('span', { class: 'badge accent', testid: 'requests-badge', hidden: true });
  const nav = el('nav', { class: 'mainnav', 'aria-label': 'Main' },
    el('a', { href: '#/agents', 'data-nav': 'agents', testid: 'nav-agents', text: 'Agents' }),
    el('a', { href: '#/requests', 'data-nav': 'requests', testid: 'nav-requests' }, 'Requests', badge),
    el('a', { href: '#/activity', 'data-nav': 'activity', testid: 'nav-activity', text: 'Activity' }),
    el('a', { href: '#/tasks', 'data-nav': 'tasks', testid: 'nav-tasks', text: 'Tasks' }),
    el('a', { href: '#/settings', 'data-nav': 'settings', testid: 'nav-settings', text: 'Notifications' }));
  const signOut = el('button', { type: 'button', class: 'btn ghost small', testid: 'sign-out', text: 'Sign out' });
  signOut.addEventListener('click', async () => {
    signOut.disabled = true;
    try { await api.logout(); } catch { /* signed out anyway */ }
    showLogin();
  });
  const banner = el('div', { class: 'banner', role: 'status', 'aria-live': 'polite', testid: 'reconnecting-banner', hidden: true },
    el('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Reconnecting… Updates will resume when the connection is back.');
  const sidebar = el('aside', { class: 'sidebar', 'aria-label': 'Agent list', testid: 'sidebar' });
  const main = el('main', { class: 'main', id: 'main', tabindex: '-1' });
  setChildren(root, el('div', { class: 'shell' },
    el('a', { class: 'skip', href: '#main', text: 'Skip to content' }),
    el('header', { class: 'topbar' },
      el('a', { class: 'brand', href: '#/agents', 'aria-label': 'Nod home' },
        el('span', { class: 'brand-mark', 'aria-hidden': 'true', text: 'N' }), el('span', { class: 'brand-name', text: 'Nod' })),
      nav,
      el('div', { class: 'user' }, el('span', { class: 'username', testid: 'username', text: store.user?.username || '' }), signOut)),
    banner,
    el('div', { class: 'layout' }, sidebar, main)));
  // The skip link must not change the route.
  root.querySelector('.skip').addEventListener('click', (ev) => { ev.preventDefault(); main.focus(); });
  const list = mountAgentList(sidebar, { selectedId: () => (route?.name === 'agent' ? route.id : null), navigate });
  const drawBadge = () => {
    const n = store.pending.size;
    badge.hidden = n === 0;
    badge.textContent = `${n}${store.pendingMore ? '+' : ''}`;
    badge.setAttribute('aria-label', `${n} pending`);
  };
  const unsubscribe = subscribe((what) => { if (what === 'pending') drawBadge(); });
  shell = { nav, banner, main, list, destroy: () => { unsubscribe(); list.destroy(); } };
}

function showLogin() {
  if (login) return;
  live.stop();
  view?.destroy?.();
  view = null;
  route = null;
  shell?.destroy();
  shell = null;
  reset();
  document.title = 'Sign in · Nod';
  document.body.dataset.route = 'login';
  login = mountLogin(root, (user) => {
    login.destroy();
    login = null;
    startApp(user);
  });
}

function startApp(user) {
  store.user = user;
  buildShell();
  render();
  live.start();
  loadAgents().catch((err) => toast(err.detail, 'error'));
  loadPending().catch(() => {});
}

let retryMs = 1000;

async function start() {
  retryTimer = null;
  try {
    startApp(await api.me());
    retryMs = 1000;
  } catch (err) {
    if (err.status === 401) return; // the sign-in screen is up
    // Opened from the home screen without a network (the shell came from
    // the service worker's cache): say so, and try again.
    setChildren(root, el('div', { class: 'login-page' },
      el('div', { class: 'banner', role: 'status', 'aria-live': 'polite', testid: 'reconnecting-banner' },
        el('span', { class: 'spinner', 'aria-hidden': 'true' }),
        err.status === 0 ? 'Reconnecting… Nod opens when the connection is back.' : `Nod is not reachable: ${err.detail}`)));
    retryTimer = setTimeout(start, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  }
}

let retryTimer = null;
// Back online: try at once rather than at the end of the backoff.
window.addEventListener('online', () => {
  if (retryTimer === null || shell || login) return;
  clearTimeout(retryTimer);
  retryTimer = null;
  start();
});

function boot() {
  setUnauthorizedHandler(showLogin);
  window.addEventListener('hashchange', () => { if (shell) render(); });
  startExpiryTicker();
  registerWorker();
  start();
}

boot();
