// The service worker and this browser's Web Push subscription: register
// the worker, and turn notifications on or off for this device.
import { api } from './api.js';

/** Registers /sw.js (scope /); resolves to the registration or null. */
export async function registerWorker() {
  if (!('serviceWorker' in navigator)) return null;
  try {
    return await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  } catch {
    return null; // e.g. plain http on another host than localhost
  }
}

/** 'unsupported', 'denied', 'off' or 'on' for this browser. */
export async function pushState() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  return sub ? 'on' : 'off';
}

function keyBytes(base64url) {
  const raw = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Asks for permission, subscribes, and tells the server; resolves to the stored subscription. */
export async function enablePush() {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('Notifications are blocked for this site in the browser’s settings.');
  const reg = (await navigator.serviceWorker.getRegistration('/')) || (await registerWorker());
  if (!reg) throw new Error('This browser cannot run the app’s service worker (it needs https).');
  await navigator.serviceWorker.ready;
  const { public_key } = await api.pushKey();
  let sub = await reg.pushManager.getSubscription();
  // A subscription made for another server key cannot be used.
  if (sub && sub.options?.applicationServerKey) {
    const current = new Uint8Array(sub.options.applicationServerKey);
    const wanted = keyBytes(public_key);
    if (current.length !== wanted.length || current.some((b, i) => b !== wanted[i])) {
      await sub.unsubscribe();
      sub = null;
    }
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
  return api.addSubscription(sub.toJSON());
}

/** Unsubscribes this browser and removes it on the server. */
export async function disablePush(subscriptions) {
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  if (!sub) return;
  const mine = subscriptions.find((s) => s.endpoint === sub.endpoint);
  await sub.unsubscribe();
  if (mine) await api.deleteSubscription(mine.id);
}

/** The endpoint of this browser's subscription, if any. */
export async function currentEndpoint() {
  if (!('serviceWorker' in navigator)) return null;
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  return sub ? sub.endpoint : null;
}
