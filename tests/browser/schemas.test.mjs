// The API against its own description: real replies of the real nod-server
// and the events it pushes to an agent, validated with Ajv against the JSON
// Schemas of docs/openapi.json (the document the server serves).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { startServer, appClient, TestAgent } from './harness.mjs';

const OPENAPI = new URL('../../docs/openapi.json', import.meta.url);

describe('replies and events match docs/openapi.json', () => {
  let server;
  let api;
  let ajv;
  before(async () => {
    server = await startServer({});
    api = await appClient(server.base);
    const doc = JSON.parse(readFileSync(OPENAPI, 'utf8'));
    ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi.json', components: doc.components });
    const served = await fetch(`${server.base}/api/openapi.json`).then((r) => r.json());
    assert.deepEqual(served, doc, 'the served document is the committed one');
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0);
  });

  const check = (name, value) => {
    const validate = ajv.getSchema(`openapi.json#/components/schemas/${name}`);
    assert.ok(validate, `no schema ${name}`);
    assert.ok(validate(value), `${name}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`);
  };
  const agentCall = (agent, method, path, body) => fetch(server.base + path, {
    method,
    headers: { 'X-Nod-Agent-Id': agent.agent_id, 'X-Nod-Secret': agent.secret, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

  test('what an agent sends and reads, and what it is sent', { timeout: 60000 }, async () => {
    const agent = await api('POST', '/api/agents', { name: 'schema check' });
    check('Agent', agent);
    const events = [
      { type: 'message', text: 'hello' },
      { type: 'decision', kind: 'approval', title: 'Deploy?' },
      { type: 'decision', kind: 'choice', title: 'Region?', options: ['eu', 'us'] },
      { type: 'alert', title: 'Disk at 91%' },
      { type: 'status', action: 'started', details: { step: 1 } },
      { type: 'processing_start' },
      { type: 'task_proposal', title: 'Watch deploys?', task_name: 'deploys', task_prompt: 'Check', task_schedule: 'event' },
    ];
    const replies = [];
    for (const e of events) {
      check('AgentEvent', e); // the examples are valid requests
      const r = await agentCall(agent, 'POST', '/api/agent/events', e);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      check('EventReply', r.body);
      replies.push(r.body);
    }
    // A request the schema refuses, the server refuses too.
    const bad = { type: 'decision', kind: 'vote', title: 'x' };
    assert.equal(ajv.validate({ $ref: 'openapi.json#/components/schemas/AgentEvent' }, bad), false);
    assert.equal((await agentCall(agent, 'POST', '/api/agent/events', bad)).status, 400);

    // Reads with agent credentials.
    check('Agent', (await agentCall(agent, 'GET', '/api/agent/me')).body);
    for (const d of (await agentCall(agent, 'GET', '/api/agent/decisions')).body) check('Decision', d);
    const convs = (await agentCall(agent, 'GET', '/api/agent/conversations')).body;
    for (const c of convs) check('Conversation', c);
    for (const m of (await agentCall(agent, 'GET', `/api/agent/conversations/${convs[0].id}/messages`)).body) check('Message', m);

    // Pushed events: a person's message, resolutions, a task's trigger.
    const ws = await TestAgent.connect(server.base, agent.agent_id, agent.secret);
    try {
      check('Message', await api('POST', `/api/agents/${agent.agent_id}/messages`, { text: 'Go ahead' }));
      const [, approval, choice, , , , proposal] = replies;
      check('Decision', await api('POST', `/api/decisions/${approval.decision_id}/resolve`, { status: 'approved', note: 'ok' }));
      await api('POST', `/api/decisions/${choice.decision_id}/resolve`, { status: 'responded', note: 'eu' });
      await api('POST', `/api/decisions/${proposal.decision_id}/resolve`, { status: 'approved' });
      const [task] = (await agentCall(agent, 'GET', '/api/agent/tasks')).body;
      check('Task', task);
      const fired = await fetch(server.base + task.trigger_url.slice(task.trigger_url.indexOf('/webhook/')), {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Tag': 'a' }, body: '{"ref":"main"}',
      });
      assert.equal(fired.status, 202);
      const want = ['user_message', 'decision_resolved', 'task_trigger'];
      for (const type of want) await ws.next((f) => f.type === type);
      await ws.next((f) => f.type === 'decision_resolved' && f.decision_id === proposal.decision_id);
      const pushed = ws.frames.filter((f) => 'seq' in f);
      assert.ok(pushed.length >= 5, JSON.stringify(pushed));
      for (const f of pushed) check('AgentBoundEvent', f);
      const named = { user_message: 'UserMessage', decision_resolved: 'DecisionResolved', task_trigger: 'TaskTrigger' };
      for (const f of pushed) check(named[f.type], f);
      for (const r of (await agentCall(agent, 'GET', `/api/agent/tasks/${task.id}/runs`)).body) check('Run', r);
    } finally {
      await ws.close();
    }
  });
});
