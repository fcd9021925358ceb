// Reaching the person (issue #19) against the real nod-server: Web Push to
// a subscription whose keys the test made, decrypted with the npm http_ece
// library and its VAPID token verified with Node's crypto (code no one here
// wrote); 404/410 removal, retries, settings (events, quiet hours, mute);
// the ntfy and Slack channels and their tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createECDH, createPublicKey, randomBytes, verify } from 'node:crypto';
import ece from 'http_ece';
import { ADMIN_PASSWORD, appClient, eventually, startServer } from './harness.mjs';

let server;
let api;
let receiver;
const hits = []; // every request the receiver got: {path, headers, body}
const statusFor = new Map(); // path → list of statuses to answer, in turn

before(async () => {
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      hits.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      const queue = statusFor.get(req.url) ?? [];
      res.writeHead(queue.length ? queue.shift() : 201, { 'Content-Length': '0' }).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  server = await startServer({
    NOD_WEBHOOK_ALLOWED_HOSTS: 'loopback',
    NOD_WEBHOOK_BACKOFF: '100ms',
    NOD_PUSH_CONTACT: 'mailto:ops@example.com',
  });
  api = await appClient(server.base);
});
after(async () => {
  receiver?.close();
  await server?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const rx = () => `http://127.0.0.1:${receiver.address().port}`;

/** A browser's side of a subscription: the keys, and the JSON it posts. */
function browserKeys(path) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    auth,
    json: { endpoint: `${rx()}${path}`, expirationTime: null, keys: { p256dh: b64url(ecdh.getPublicKey()), auth: b64url(auth) } },
  };
}

async function raw(method, path, body, token) {
  const res = await fetch(server.base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function adminToken() {
  return (await raw('POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).body.token;
}

async function newAgent(name = 'deploy-bot') {
  const a = await api('POST', '/api/agents', { name });
  const send = async (event) => {
    const res = await fetch(`${server.base}/api/agent/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Nod-Agent-Id': a.id, 'X-Nod-Secret': a.secret },
      body: JSON.stringify(event),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text);
  };
  return { id: a.id, send };
}

/** The requests the receiver got on `path` since `from`. */
const hitsOn = (path, from = 0) => hits.slice(from).filter((h) => h.path === path);

/** Verifies the VAPID Authorization of a push and returns its claims. */
function checkVapid(headers, publicKey) {
  const m = /^vapid t=([^,]+), k=(.+)$/.exec(headers.authorization);
  assert.ok(m, headers.authorization);
  const [jwt, k] = [m[1], m[2]];
  assert.equal(k, publicKey);
  const [h, c, s] = jwt.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url')), { typ: 'JWT', alg: 'ES256' });
  const point = Buffer.from(publicKey, 'base64url');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) },
    format: 'jwk',
  });
  assert.ok(verify('sha256', Buffer.from(`${h}.${c}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')), 'VAPID signature');
  assert.ok(!verify('sha256', Buffer.from(`${h}.${c}x`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')));
  return JSON.parse(Buffer.from(c, 'base64url'));
}

function decryptPush(hit, keys) {
  assert.equal(hit.headers['content-encoding'], 'aes128gcm');
  return JSON.parse(ece.decrypt(hit.body, { version: 'aes128gcm', privateKey: keys.ecdh, authSecret: b64url(keys.auth) }).toString('utf8'));
}

test('a decision and a message reach a subscribed browser, encrypted and signed', async () => {
  const { public_key } = await api('GET', '/api/push/key');
  assert.equal(Buffer.from(public_key, 'base64url').length, 65);
  const keys = browserKeys('/push/main');
  const sub = await api('POST', '/api/push/subscriptions', keys.json);
  assert.match(sub.id, /^psub_[0-9a-f]{16}$/);
  assert.equal(sub.endpoint, keys.json.endpoint);
  // The same browser again: the same subscription, not a second one.
  assert.equal((await api('POST', '/api/push/subscriptions', keys.json)).id, sub.id);
  assert.deepEqual((await api('GET', '/api/push/subscriptions')).map((s) => s.id), [sub.id]);

  const agent = await newAgent();
  const from = hits.length;
  const { decision_id } = await agent.send({ type: 'decision', kind: 'approval', title: 'Deploy v2?', description: 'All green.', expires_in: 600 });
  const [hit] = await eventually(() => hitsOn('/push/main', from).length && hitsOn('/push/main', from), { what: 'a push' });
  const claims = checkVapid(hit.headers, public_key);
  assert.equal(claims.aud, rx());
  assert.equal(claims.sub, 'mailto:ops@example.com');
  assert.ok(claims.exp > Date.now() / 1000 && claims.exp <= Date.now() / 1000 + 24 * 3600);
  assert.equal(hit.headers.urgency, 'high');
  const ttl = Number(hit.headers.ttl);
  assert.ok(ttl > 590 && ttl <= 600, `TTL until the decision expires: ${ttl}`);
  const payload = decryptPush(hit, keys);
  assert.equal(payload.type, 'decision');
  assert.equal(payload.title, 'deploy-bot asks: Deploy v2?');
  assert.equal(payload.body, 'All green.');
  assert.equal(payload.decision_id, decision_id);
  assert.equal(payload.decision_kind, 'approval');
  assert.equal(payload.actions, true);
  assert.equal(payload.url, `/#/decisions/${decision_id}`);
  assert.equal(payload.agent_id, agent.id);

  const before2 = hits.length;
  await agent.send({ type: 'message', text: 'Build finished.' });
  const [msg] = await eventually(() => hitsOn('/push/main', before2).length && hitsOn('/push/main', before2), { what: 'a message push' });
  const mp = decryptPush(msg, keys);
  assert.equal(mp.type, 'message');
  assert.equal(mp.title, 'deploy-bot');
  assert.equal(mp.body, 'Build finished.');
  assert.equal(msg.headers.urgency, 'normal');

  // A test from the settings screen answers with the outcome.
  const t = await api('POST', '/api/notifications/push/test');
  assert.deepEqual(t, { channel: 'push', ok: true, error: null });
  const [listed] = await api('GET', '/api/push/subscriptions');
  assert.ok(listed.status.last_sent_at);
  await api('DELETE', `/api/push/subscriptions/${sub.id}`);
  assert.deepEqual(await api('GET', '/api/push/subscriptions'), []);
});

test('settings: events, mute and quiet hours hold pushes back', async () => {
  const keys = browserKeys('/push/settings');
  const sub = await api('POST', '/api/push/subscriptions', keys.json);
  const agent = await newAgent('noisy');
  const pushesAfter = async (fn) => {
    const from = hits.length;
    await fn();
    await sleep(400);
    return hitsOn('/push/settings', from).length;
  };
  try {
    const defaults = await api('GET', '/api/notifications');
    assert.deepEqual(defaults.events, { decision: true, message: true, expiring: false, pending: false });
    assert.equal(defaults.quiet_hours, null);

    await api('PATCH', '/api/notifications', { events: { message: false } });
    assert.equal(await pushesAfter(() => agent.send({ type: 'message', text: 'quiet' })), 0);
    assert.equal(await pushesAfter(() => agent.send({ type: 'decision', kind: 'question', title: 'Still on?' })), 1);

    await api('PATCH', '/api/notifications', { muted_agents: [agent.id] });
    assert.equal(await pushesAfter(() => agent.send({ type: 'decision', kind: 'question', title: 'Muted?' })), 0);
    await api('PATCH', '/api/notifications', { muted_agents: [] });

    // Quiet from an hour ago to an hour from now (UTC).
    const hhmm = (d) => d.toISOString().slice(11, 16);
    const now = Date.now();
    const settings = await api('PATCH', '/api/notifications', {
      quiet_hours: { start: hhmm(new Date(now - 3600e3)), end: hhmm(new Date(now + 3600e3)), timezone: 'UTC' },
    });
    assert.equal(settings.quiet_hours.timezone, 'UTC');
    assert.equal(await pushesAfter(() => agent.send({ type: 'decision', kind: 'question', title: 'Night?' })), 0);
    // A test still goes through: the person asked for it.
    assert.equal((await api('POST', '/api/notifications/push/test')).ok, true);

    const bad = await raw('PATCH', '/api/notifications', { quiet_hours: { start: '7am', end: '08:00' } }, await adminToken());
    assert.equal(bad.status, 400);
    assert.equal(bad.body.detail, 'quiet_hours.start: must be HH:MM');
  } finally {
    await api('PATCH', '/api/notifications', { events: { message: true }, quiet_hours: null, muted_agents: [] });
    await api('DELETE', `/api/push/subscriptions/${sub.id}`);
  }
});

test('undelivered events and decisions about to expire notify when asked for', async () => {
  const keys = browserKeys('/push/pending');
  const sub = await api('POST', '/api/push/subscriptions', keys.json);
  await api('PATCH', '/api/notifications', { events: { message: false, decision: false, pending: true, expiring: true } });
  try {
    const agent = await newAgent('offline-bot');
    const from = hits.length;
    // No socket, no webhook: the person's message parks as pending.
    await api('POST', `/api/agents/${agent.id}/messages`, { text: 'are you there?' });
    const [hit] = await eventually(() => hitsOn('/push/pending', from).length && hitsOn('/push/pending', from), { what: 'a pending push' });
    const p = decryptPush(hit, keys);
    assert.equal(p.type, 'pending');
    assert.equal(p.title, 'offline-bot has undelivered events');
    assert.equal(hit.headers.urgency, 'low');
    // One such notice per agent for a while, however many events park.
    await api('POST', `/api/agents/${agent.id}/messages`, { text: 'hello?' });
    await sleep(400);
    assert.equal(hitsOn('/push/pending', from).length, 1);

    // Expires in 4 s: "expires soon" comes at half its life when that is
    // under five minutes, only while it is still pending.
    const before = hits.length;
    const { decision_id } = await agent.send({ type: 'decision', kind: 'approval', title: 'Quick one', expires_in: 4 });
    const answered = await agent.send({ type: 'decision', kind: 'approval', title: 'Answered', expires_in: 4 });
    await api('POST', `/api/decisions/${answered.decision_id}/resolve`, { status: 'approved' });
    const [soon] = await eventually(() => hitsOn('/push/pending', before).length && hitsOn('/push/pending', before), {
      what: 'an expires-soon push',
    });
    const sp = decryptPush(soon, keys);
    assert.equal(sp.type, 'expiring');
    assert.equal(sp.decision_id, decision_id);
    assert.equal(sp.title, 'Expires soon: Quick one');
    await sleep(2500);
    assert.equal(hitsOn('/push/pending', before).length, 1, 'no notice for the answered decision');
  } finally {
    await api('PATCH', '/api/notifications', { events: { message: true, decision: true, pending: false, expiring: false } });
    await api('DELETE', `/api/push/subscriptions/${sub.id}`);
  }
});

test('a gone subscription (410) is removed; a failing push service is retried', async () => {
  const gone = browserKeys('/push/gone');
  const flaky = browserKeys('/push/flaky');
  const goneSub = await api('POST', '/api/push/subscriptions', gone.json);
  const flakySub = await api('POST', '/api/push/subscriptions', flaky.json);
  statusFor.set('/push/gone', [410]);
  statusFor.set('/push/flaky', [503, 429]);
  const agent = await newAgent('retry-bot');
  const from = hits.length;
  await agent.send({ type: 'decision', kind: 'approval', title: 'Retry me' });
  await eventually(async () => !(await api('GET', '/api/push/subscriptions')).some((s) => s.id === goneSub.id), {
    what: 'the 410 subscription removed',
  });
  const attempts = await eventually(() => hitsOn('/push/flaky', from).length >= 3 && hitsOn('/push/flaky', from), {
    what: 'three attempts',
  });
  // The same notification each time.
  assert.equal(decryptPush(attempts[2], flaky).title, 'retry-bot asks: Retry me');
  assert.equal(hitsOn('/push/gone', from).length, 1);
  const [listed] = (await api('GET', '/api/push/subscriptions')).filter((s) => s.id === flakySub.id);
  assert.ok(listed.status.last_sent_at);
  await api('DELETE', `/api/push/subscriptions/${flakySub.id}`);
});

test('subscriptions are checked and private to their person', async () => {
  const token = await adminToken();
  const badKey = browserKeys('/push/x').json;
  badKey.keys.p256dh = b64url(Buffer.alloc(65, 4));
  const r = await raw('POST', '/api/push/subscriptions', badKey, token);
  assert.equal(r.status, 400);
  assert.equal(r.body.detail, 'keys.p256dh: must be base64url of an uncompressed P-256 public key');
  const metadata = browserKeys('/x').json;
  metadata.endpoint = 'http://169.254.169.254/latest';
  const blocked = await raw('POST', '/api/push/subscriptions', metadata, token);
  assert.equal(blocked.status, 400);
  assert.match(blocked.body.detail, /^endpoint: /);

  const mine = await api('POST', '/api/push/subscriptions', browserKeys('/push/mine').json);
  await api('POST', '/api/users', { username: 'bob', password: 'bob-Pw-0123456789' });
  const bob = (await raw('POST', '/api/auth/login', { username: 'bob', password: 'bob-Pw-0123456789' })).body.token;
  assert.equal((await raw('DELETE', `/api/push/subscriptions/${mine.id}`, undefined, bob)).status, 404);
  assert.deepEqual((await raw('GET', '/api/push/subscriptions', undefined, bob)).body, []);
  assert.equal((await raw('GET', '/api/push/key')).status, 401);
  await api('DELETE', `/api/push/subscriptions/${mine.id}`);
});

test('ntfy and Slack get the documented requests; tests report failures', async () => {
  await api('PATCH', '/api/notifications', {
    channels: {
      ntfy: { server: `${rx()}/ntfy`, topic: 'alice-nod', token: 'tk_secret' },
      slack: { webhook_url: `${rx()}/slack/T0/B0/secret` },
    },
  });
  try {
    const shown = await api('GET', '/api/notifications');
    assert.deepEqual(shown.channels.ntfy, { server: `${rx()}/ntfy`, topic: 'alice-nod', token_set: true });
    assert.equal(shown.channels.slack.webhook_url, 'http://127.0.0.1/…');
    assert.ok(!JSON.stringify(shown).includes('tk_secret'));

    const agent = await newAgent('ci');
    const from = hits.length;
    const { decision_id } = await agent.send({ type: 'decision', kind: 'permission', title: 'Run rm -rf build?' });
    const [ntfy] = await eventually(() => hitsOn('/ntfy/', from).length && hitsOn('/ntfy/', from), { what: 'ntfy' });
    assert.equal(ntfy.headers.authorization, 'Bearer tk_secret');
    const n = JSON.parse(ntfy.body);
    assert.equal(n.topic, 'alice-nod');
    assert.equal(n.title, 'ci asks: Run rm -rf build?');
    assert.equal(n.priority, 4);
    assert.ok(n.click.endsWith(`#/decisions/${decision_id}`));
    assert.deepEqual(n.actions.map((a) => [a.action, a.label]), [['view', 'Approve'], ['view', 'Deny']]);
    assert.ok(n.actions[0].url.endsWith(`#/decisions/${decision_id}/approve`));
    const [slack] = await eventually(() => hitsOn('/slack/T0/B0/secret', from).length && hitsOn('/slack/T0/B0/secret', from), {
      what: 'slack',
    });
    const s = JSON.parse(slack.body);
    assert.equal(s.text, 'ci asks: Run rm -rf build?');
    assert.equal(s.blocks[0].type, 'section');
    assert.ok(s.blocks[1].elements[0].url.endsWith(`#/decisions/${decision_id}`));

    assert.deepEqual(await api('POST', '/api/notifications/ntfy/test'), { channel: 'ntfy', ok: true, error: null });
    statusFor.set('/slack/T0/B0/secret', [404]);
    assert.deepEqual(await api('POST', '/api/notifications/slack/test'), { channel: 'slack', ok: false, error: 'http_404' });
    const after = await api('GET', '/api/notifications');
    assert.equal(after.channel_status.slack.last_error, 'http_404');
    assert.ok(after.channel_status.ntfy.last_sent_at);
    const email = await api('POST', '/api/notifications/email/test');
    assert.deepEqual(email, { channel: 'email', ok: false, error: 'email is not set up' });
  } finally {
    await api('PATCH', '/api/notifications', { channels: { ntfy: null, slack: null } });
  }
});

test('the VAPID key and subscriptions survive a restart', async () => {
  const { public_key } = await api('GET', '/api/push/key');
  const sub = await api('POST', '/api/push/subscriptions', browserKeys('/push/restart').json);
  await server.restart();
  api = await appClient(server.base);
  assert.equal((await api('GET', '/api/push/key')).public_key, public_key);
  assert.deepEqual((await api('GET', '/api/push/subscriptions')).map((s) => s.id), [sub.id]);
  await api('DELETE', `/api/push/subscriptions/${sub.id}`);
});
