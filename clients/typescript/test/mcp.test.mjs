// nod-mcp driven over stdio by the MCP SDK's own Client, against the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { eventually, messages, pendingDecision, startServer } from './server.mjs';

const BIN = fileURLToPath(new URL('../bin/nod-mcp.js', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server;
before(async () => {
  server = await startServer();
});
after(() => server?.stop());

/** nod-mcp for `agent`, connected; `notes` collects its channel notifications. */
async function startMcp(agent, env = {}) {
  const notes = [];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN],
    env: {
      PATH: process.env.PATH,
      NOD_URL: server.base,
      NOD_AGENT_ID: agent.id,
      NOD_AGENT_SECRET: agent.secret,
      NOD_STATE_DIR: join(server.dir, 'state'),
      ...env,
    },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'nod-test', version: '1.0.0' });
  client.fallbackNotificationHandler = async (n) => {
    if (n.method === 'notifications/claude/channel') notes.push(n.params);
  };
  await client.connect(transport);
  return { client, notes, close: () => client.close() };
}

const textOf = (result) => result.content.map((c) => c.text).join('\n');

test('tools are listed with their schemas and the channel capability is declared', async () => {
  const agent = await server.agent();
  const mcp = await startMcp(agent);
  try {
    const { tools } = await mcp.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['nod_ask', 'nod_inbox', 'nod_processing', 'nod_reply', 'nod_report']);
    const reply = tools.find((t) => t.name === 'nod_reply');
    assert.deepEqual(reply.inputSchema.required, ['text']);
    assert.deepEqual(tools.find((t) => t.name === 'nod_ask').inputSchema.properties.kind.enum, ['approval', 'choice', 'question']);
    assert.deepEqual(mcp.client.getServerCapabilities().experimental, { 'claude/channel': {} });
  } finally {
    await mcp.close();
  }
});

test('nod_reply reaches the app; the person’s message arrives as a channel notification', async () => {
  const agent = await server.agent();
  const mcp = await startMcp(agent);
  try {
    const sent = await mcp.client.callTool({ name: 'nod_reply', arguments: { text: 'Working on it' } });
    assert.equal(sent.isError, false, textOf(sent));
    assert.deepEqual((await messages(server, agent.id)).map((m) => m.text), ['Working on it']);

    await eventually(async () => (await server.person('GET', `/api/agents/${agent.id}`)).online, { what: 'online' });
    const msg = await server.person('POST', `/api/agents/${agent.id}/messages`, { text: 'Please also run the tests' });
    const note = await eventually(() => mcp.notes.find((n) => n.meta.event === 'user_message'), { what: 'a notification' });
    assert.equal(note.content, 'Please also run the tests');
    assert.equal(note.meta.message_id, msg.id);
    assert.equal(note.meta.sender, 'admin');
    // The same event, for a model that cannot see channel notifications.
    assert.match(textOf(await mcp.client.callTool({ name: 'nod_inbox', arguments: {} })), /Please also run the tests/);
    assert.equal(textOf(await mcp.client.callTool({ name: 'nod_inbox', arguments: {} })), 'Nothing new.');

    const report = await mcp.client.callTool({ name: 'nod_report', arguments: { kind: 'alert', title: 'Disk full', text: '95%' } });
    assert.equal(report.isError, false, textOf(report));
    const activity = await server.person('GET', `/api/activity?agent_id=${agent.id}`);
    assert.ok(activity.some((a) => JSON.stringify(a).includes('Disk full')), JSON.stringify(activity));
    const busy = await mcp.client.callTool({ name: 'nod_processing', arguments: { state: 'start', status_text: 'Testing' } });
    assert.equal(busy.isError, false, textOf(busy));
    await eventually(async () => (await server.person('GET', `/api/agents/${agent.id}`)).processing, { what: 'processing' });
    const bad = await mcp.client.callTool({ name: 'nod_reply', arguments: { text: '' } });
    assert.equal(bad.isError, true);
    assert.match(textOf(bad), /text/);
  } finally {
    await mcp.close();
  }
});

test('nod_ask returns the person’s answer', async () => {
  const agent = await server.agent();
  const mcp = await startMcp(agent);
  try {
    const asking = mcp.client.callTool({
      name: 'nod_ask',
      arguments: { kind: 'choice', title: 'Which region?', options: ['eu', 'us'], timeout_seconds: 30 },
    });
    const card = await pendingDecision(server, agent.id);
    assert.deepEqual(card.options, ['eu', 'us']);
    await server.person('POST', `/api/decisions/${card.id}/resolve`, { status: 'responded', note: 'eu' });
    const result = await asking;
    assert.equal(result.isError, false, textOf(result));
    assert.match(textOf(result), /responded\. eu/);
    assert.deepEqual(result.structuredContent, { decision_id: card.id, status: 'responded', note: 'eu' });
    // The answer came as the tool's result: no second notice of it on the channel.
    await sleep(300);
    assert.deepEqual(mcp.notes.filter((n) => n.meta.event === 'decision_resolved'), []);
  } finally {
    await mcp.close();
  }
});

test('a restarted nod-mcp does not notify again what it already notified', async () => {
  const agent = await server.agent();
  let mcp = await startMcp(agent);
  await server.person('POST', `/api/agents/${agent.id}/messages`, { text: 'first' });
  await eventually(() => mcp.notes.length === 1, { what: 'the first notification' });
  await mcp.close();
  // While it is down: one more message, pending on the server.
  await server.person('POST', `/api/agents/${agent.id}/messages`, { text: 'second' });
  mcp = await startMcp(agent);
  try {
    await eventually(() => mcp.notes.length >= 1, { what: 'the pending message' });
    await server.person('POST', `/api/agents/${agent.id}/messages`, { text: 'third' });
    await eventually(() => mcp.notes.length >= 2, { what: 'the live message' });
    await sleep(300);
    assert.deepEqual(mcp.notes.map((n) => n.content), ['second', 'third']);
  } finally {
    await mcp.close();
  }
});

test('without channels (NOD_CHANNEL=0) events wait on the server until nod_inbox', async () => {
  const agent = await server.agent();
  const mcp = await startMcp(agent, { NOD_CHANNEL: '0' });
  try {
    assert.equal(mcp.client.getServerCapabilities().experimental, undefined);
    await server.person('POST', `/api/agents/${agent.id}/messages`, { text: 'read me' });
    await sleep(200);
    assert.deepEqual(mcp.notes, []);
    assert.match(textOf(await mcp.client.callTool({ name: 'nod_inbox', arguments: {} })), /read me/);
    assert.equal(textOf(await mcp.client.callTool({ name: 'nod_inbox', arguments: {} })), 'Nothing new.');
    const inbox = await fetch(`${server.base}/api/agent/inbox`, {
      headers: { 'X-Nod-Agent-Id': agent.id, 'X-Nod-Secret': agent.secret },
    }).then((r) => r.json());
    assert.deepEqual(inbox, []);
  } finally {
    await mcp.close();
  }
});
