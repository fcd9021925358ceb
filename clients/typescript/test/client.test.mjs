// AgentClient and verifyWebhook against the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { AgentClient, verifyWebhook, WebhookVerificationError } from '../src/index.js';
import { eventually, messages, pendingDecision, startServer, webhookReceiver } from './server.mjs';

let server;
before(async () => {
  // Webhooks to the test's own receiver on loopback.
  server = await startServer({ NOD_WEBHOOK_ALLOWED_HOSTS: 'loopback' });
});
after(() => server?.stop());

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sends `count` messages from the person, `gap` ms apart. */
async function burst(agentId, count, gap = 0) {
  for (let i = 1; i <= count; i++) {
    await server.person('POST', `/api/agents/${agentId}/messages`, { text: `m${i}` });
    if (gap) await sleep(gap);
  }
}

function assertExactly(seen, count) {
  const texts = seen.map((e) => e.text);
  assert.deepEqual(texts, Array.from({ length: count }, (_, i) => `m${i + 1}`));
  const seqs = seen.map((e) => e.seq);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `seq gap or repeat at ${i}: ${seqs}`);
}

test('a socket dropped and a client restarted during a burst: every event once, in order', async () => {
  const agent = await server.agent();
  const stateFile = join(server.dir, `state-${agent.id}.json`);
  const seen = [];
  const make = () =>
    new AgentClient({
      url: server.base,
      agentId: agent.id,
      secret: agent.secret,
      stateFile,
      backoffInitialMs: 20,
      onEvent: async (e) => {
        seen.push(e);
        await sleep(e.seq % 7 === 0 ? 8 : 1); // slower than the person: events queue up in the client
      },
    });
  let client = make();
  await client.start();
  const sending = burst(agent.id, 300);
  await eventually(() => seen.length >= 40, { what: '40 events' });
  client.ws.terminate(); // the network drops the socket
  await eventually(() => seen.length >= 120, { what: '120 events' });
  client.ws.terminate();
  await eventually(() => seen.length >= 180, { what: '180 events' });
  await client.stop(); // the agent restarts: a new process with the same state file
  assert.equal(JSON.parse(readFileSync(stateFile, 'utf8')).last_seq, seen.at(-1).seq);
  client = make();
  await client.start();
  await sending;
  await eventually(() => seen.length >= 300, { what: 'all 300 events', timeout: 20000 });
  await sleep(300); // nothing more may come
  await client.stop();
  assertExactly(seen, 300);
  // Every event is delivered on the server too: nothing left pending.
  const undelivered = await server.person('GET', `/api/agents/${agent.id}/deliveries?status=pending`);
  assert.deepEqual(undelivered, []);
});

test('the poll transport: the same events once, acked on the server', async () => {
  const agent = await server.agent();
  const seen = [];
  await burst(agent.id, 30);
  const client = new AgentClient({
    url: server.base,
    agentId: agent.id,
    secret: agent.secret,
    transport: 'poll',
    pollWait: 1,
    stateFile: join(server.dir, `state-${agent.id}.json`),
    onEvent: async (e) => seen.push(e),
  });
  await client.start();
  const more = burst(agent.id, 20).then(() => 0);
  await more;
  // Texts m1..m30 then m1..m20: check seqs and counts.
  await eventually(() => seen.length >= 50, { what: '50 events' });
  await client.stop();
  assert.deepEqual(
    seen.map((e) => e.seq),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  const inbox = await fetch(`${server.base}/api/agent/inbox`, {
    headers: { 'X-Nod-Agent-Id': agent.id, 'X-Nod-Secret': agent.secret },
  }).then((r) => r.json());
  assert.deepEqual(inbox, []);
});

test('send over the socket and over REST; ask waits for the person', async () => {
  const agent = await server.agent();
  const client = new AgentClient({ url: server.base, agentId: agent.id, secret: agent.secret });
  await client.start();
  const viaSocket = await client.send({ type: 'message', text: 'hello over the socket' });
  assert.match(viaSocket.message_id, /^msg_/);
  const viaRest = await client.rest.sendEvent({ type: 'message', text: 'hello over REST' });
  assert.match(viaRest.message_id, /^msg_/);
  assert.deepEqual(
    (await messages(server, agent.id)).map((m) => m.text),
    ['hello over the socket', 'hello over REST'],
  );
  await assert.rejects(client.send({ type: 'message' }), (err) => err.name === 'NodError' && /text/.test(err.detail));

  const asking = client.ask({ kind: 'approval', title: 'Deploy?' }, { timeoutMs: 20000 });
  const card = await pendingDecision(server, agent.id);
  assert.equal(card.title, 'Deploy?');
  await server.person('POST', `/api/decisions/${card.id}/resolve`, { status: 'approved', note: 'go' });
  const answer = await asking;
  assert.equal(answer.status, 'approved');
  assert.equal(answer.note, 'go');
  await client.stop();
});

test('wrong credentials stop the client with a clear error', async () => {
  const agent = await server.agent();
  const client = new AgentClient({ url: server.base, agentId: agent.id, secret: 'nod_' + '0'.repeat(40) });
  await assert.rejects(client.start(), /wrong agent secret/);
});

test('a list of URLs: a dead first node is skipped', async () => {
  const agent = await server.agent();
  const client = new AgentClient({
    urls: ['http://127.0.0.1:1', server.base],
    agentId: agent.id,
    secret: agent.secret,
    backoffInitialMs: 10,
  });
  await client.start();
  assert.match((await client.rest.sendEvent({ type: 'message', text: 'via the second' })).message_id, /^msg_/);
  await client.stop();
});

test('verifyWebhook accepts the server’s real webhooks and rejects altered or stale ones', async () => {
  const receiver = await webhookReceiver();
  try {
    const agent = await server.agent({ webhook_url: receiver.url });
    await server.person('POST', `/api/agents/${agent.id}/messages`, { text: 'by webhook' });
    const { headers, body } = await eventually(() => receiver.received[0], { what: 'a webhook' });
    const event = verifyWebhook(headers, body, agent.webhookSecret);
    assert.equal(event.type, 'user_message');
    assert.equal(event.text, 'by webhook');
    // Nod's own scheme alone.
    const nodOnly = { ...headers };
    delete nodOnly['webhook-signature'];
    assert.equal(verifyWebhook(nodOnly, body, agent.webhookSecret).event_id, event.event_id);
    // A Headers object (fetch-style frameworks).
    assert.equal(verifyWebhook(new Headers(headers), body.toString(), agent.webhookSecret).seq, event.seq);

    const altered = Buffer.from(body.toString().replace('by webhook', 'by webhooK'));
    assert.throws(() => verifyWebhook(headers, altered, agent.webhookSecret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(nodOnly, altered, agent.webhookSecret), /X-Nod-Signature does not match/);
    const later = Number(headers['webhook-timestamp']) + 600;
    assert.throws(() => verifyWebhook(headers, body, agent.webhookSecret, { now: later }), /replay/);
    assert.throws(() => verifyWebhook(headers, body, 'whsec_' + Buffer.alloc(32).toString('base64')), /does not match/);
    const unsigned = { 'content-type': 'application/json' };
    assert.throws(() => verifyWebhook(unsigned, body, agent.webhookSecret), /no signature/);
  } finally {
    receiver.close();
  }
});
