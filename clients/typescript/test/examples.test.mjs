// examples/serverless-webhook.mjs and the n8n workflow's Code node, fed the
// real server's webhook requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { handler } from '../../../examples/serverless-webhook.mjs';
import { eventually, messages, startServer, webhookReceiver } from './server.mjs';

const WORKFLOW = fileURLToPath(new URL('../../../examples/n8n/nod-agent-webhook.json', import.meta.url));

let server;
let receiver;
before(async () => {
  server = await startServer({ NOD_WEBHOOK_ALLOWED_HOSTS: 'loopback' });
  receiver = await webhookReceiver();
});
after(() => {
  receiver?.close();
  return server?.stop();
});

/** A new agent with a webhook to the capturing receiver, and one real webhook request for it. */
async function capturedWebhook(text) {
  const agent = await server.agent({ webhook_url: receiver.url });
  await server.person('POST', `/api/agents/${agent.id}/messages`, { text });
  const hit = await eventually(() => receiver.received.find((r) => JSON.parse(r.body).text === text), { what: 'a webhook' });
  return { agent, ...hit };
}

const asRequest = ({ headers, body }) =>
  new Request('http://localhost/hook', {
    method: 'POST',
    headers: Object.entries(headers).map(([k, v]) => [k, String(v)]),
    body,
  });

test('the serverless handler verifies, replies once however often Nod retries, refuses forgeries', async () => {
  const { agent, headers, body } = await capturedWebhook('ship it');
  const env = { NOD_URL: server.base, NOD_AGENT_ID: agent.id, NOD_AGENT_SECRET: agent.secret, NOD_WEBHOOK_SECRET: agent.webhookSecret };
  assert.equal((await handler(asRequest({ headers, body }), env)).status, 204);
  // A retry of the same webhook (same event, new attempt): no second reply.
  assert.equal((await handler(asRequest({ headers, body }), env)).status, 204);
  const texts = (await messages(server, agent.id)).map((m) => m.text);
  assert.deepEqual(texts, ['ship it', 'Got it: ship it']);
  const forged = Buffer.from(body.toString().replace('ship it', 'rm -rf /'));
  assert.equal((await handler(asRequest({ headers, body: forged }), env)).status, 401);
});

test('the n8n Code node accepts a real webhook and refuses an altered one', async () => {
  const workflow = JSON.parse(readFileSync(WORKFLOW, 'utf8'));
  const code = workflow.nodes.find((n) => n.type === 'n8n-nodes-base.code').parameters.jsCode;
  const { agent, headers, body } = await capturedWebhook('from n8n');
  // What n8n's Webhook node (rawBody on) hands the Code node.
  const run = (raw) =>
    new Function('$input', '$env', 'require', code)(
      { first: () => ({ json: { headers }, binary: { data: { data: raw.toString('base64') } } }) },
      { NOD_WEBHOOK_SECRET: agent.webhookSecret },
      createRequire(import.meta.url),
    );
  const [out] = run(body);
  assert.equal(out.json.event.type, 'user_message');
  assert.equal(out.json.reply, 'n8n got: from n8n');
  assert.throws(() => run(Buffer.from(body.toString().replace('from n8n', 'from n9n'))), /bad signature/);
  // The workflow's nodes are wired webhook → code → HTTP request.
  assert.deepEqual(Object.keys(workflow.connections), ['Nod webhook', 'Verify signature']);
});
