// The app's service worker: keeps the shell (every file the app is made
// of) so the app opens without a network and says it is reconnecting;
// shows Web Push notifications, whose Approve / Deny buttons answer the
// decision without opening the app. The API and WebSockets always go to
// the network.

const CACHE = 'nod-shell-v1';
// Every file under web/ (tests/web/static.test.mjs keeps this list whole).
const SHELL = [
  '/',
  '/app.js',
  '/favicon.svg',
  '/icons/icon-180.png',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/icon-maskable-512.png',
  '/js/api.js',
  '/js/cron.js',
  '/js/dialog.js',
  '/js/live.js',
  '/js/markdown.js',
  '/js/push.js',
  '/js/store.js',
  '/js/util.js',
  '/js/views/activity.js',
  '/js/views/agent.js',
  '/js/views/agents.js',
  '/js/views/chat.js',
  '/js/views/decisions.js',
  '/js/views/deliveries.js',
  '/js/views/login.js',
  '/js/views/settings.js',
  '/js/views/tasks.js',
  '/manifest.webmanifest',
  '/style.css',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: 'no-cache' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// The shell: the network first (a new version shows at once; ETags keep it
// cheap), the cache when the network fails.
self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  const path = req.mode === 'navigate' ? '/' : url.pathname;
  if (!SHELL.includes(path)) return;
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((cache) => cache.put(path, copy));
        }
        return res;
      })
      .catch(() => caches.match(path).then((hit) => hit || Response.error())),
  );
});

// -- notifications ----------------------------------------------------------------

/** The notification for a push payload (docs/notifications.md). */
function notificationOf(p) {
  const options = {
    body: p.body || '',
    tag: p.tag || undefined,
    renotify: Boolean(p.tag),
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { url: p.url || '/', decision_id: p.decision_id || null },
    requireInteraction: p.type === 'decision' || p.type === 'expiring',
  };
  if (p.actions && p.decision_id) {
    options.actions = [
      { action: 'approve', title: 'Approve' },
      { action: 'reject', title: 'Deny' },
    ];
  }
  return { title: p.title || 'Nod', options };
}

self.addEventListener('push', (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch {
    payload = { title: 'Nod', body: event.data ? event.data.text() : '' };
  }
  const { title, options } = notificationOf(payload);
  event.waitUntil(self.registration.showNotification(title, options));
});

/** Opens (or focuses) the app at `url`. */
async function openApp(url) {
  const target = new URL(url, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  // Focusing and opening need the click's user activation; without it
  // (or when the browser refuses) the notification just closes.
  try {
    for (const w of windows) {
      if (new URL(w.url).origin === self.location.origin) {
        await w.focus();
        return await w.navigate(target);
      }
    }
    return await self.clients.openWindow(target);
  } catch {
    return null;
  }
}

/**
 * A tap or a button on a notification. Approve / Deny answer the decision
 * with the session cookie (same origin); if that fails (signed out,
 * already answered) the card opens instead.
 */
async function onNotificationClick(action, data) {
  if ((action === 'approve' || action === 'reject') && data.decision_id) {
    const status = action === 'approve' ? 'approved' : 'rejected';
    try {
      const res = await fetch(`/api/decisions/${encodeURIComponent(data.decision_id)}/resolve`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ status }),
      });
      if (res.ok) return { resolved: status };
    } catch {
      // offline: open the card, which says so
    }
  }
  await openApp(data.url || '/');
  return { opened: data.url || '/' };
}
self.onNotificationClick = onNotificationClick; // the browser tests call it

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(onNotificationClick(event.action, event.notification.data || {}));
});

// The browser replaced the subscription: tell the server about the new one.
self.addEventListener('pushsubscriptionchange', (event) => {
  const renew = async () => {
    const keyRes = await fetch('/api/push/key', { credentials: 'same-origin' });
    if (!keyRes.ok) return;
    const { public_key } = await keyRes.json();
    const raw = atob(public_key.replace(/-/g, '+').replace(/_/g, '/'));
    const key = Uint8Array.from(raw, (c) => c.charCodeAt(0));
    const sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    await fetch('/api/push/subscriptions', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(sub.toJSON()),
    });
  };
  event.waitUntil(renew().catch(() => {}));
});
