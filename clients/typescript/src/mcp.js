// @ts-check
// nod-mcp: an MCP stdio server that puts a Claude Code session on Nod. The
// person's messages, answers and task wake-ups arrive in the session as
// Claude Code channel notifications (`notifications/claude/channel`); the
// model talks back with tools. An event is acknowledged to the server only
// once its notification was written to stdout, and the last acknowledged
// seq is kept in NOD_STATE_DIR, so a restart re-notifies nothing.
//
// NOD_CHANNEL=0 is for clients without channels: nothing is pushed, the
// events stay pending on the server, and `nod_inbox` hands them out (and
// acknowledges them) when the model asks.
import { join } from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { AgentClient } from './agent-client.js';
import { loadAgentConfig, stateDir } from './config.js';
import { renderEvent } from './render.js';

const INSTRUCTIONS = `You are connected to Nod, where a person follows your work from their phone or browser.
Their messages arrive as <channel source="nod" event="user_message" ...> notifications: answer with nod_reply (pass reply_to_id = the message_id).
Use nod_ask when you need the person to approve, choose or answer before going on; it waits for the answer.
Use nod_report for progress (status) and for things the person must notice (alert), nod_processing while you work.
If you see no channel notifications, call nod_inbox to read what the person sent.`;

const TOOLS = [
  {
    name: 'nod_reply',
    description: 'Send a message (markdown) to the person in the Nod app.',
    inputSchema: {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'The message, markdown.' },
        reply_to_id: { type: 'string', description: 'The message_id of the message this answers.' },
        conversation_id: { type: 'string', description: 'Conversation to post in (default: the agent’s own).' },
      },
      required: ['text'],
    },
  },
  {
    name: 'nod_report',
    description:
      'Record activity the person can see: a status update (kind "status") or an alert that needs their attention (kind "alert").',
    inputSchema: {
      type: 'object',
      properties: {
        kind: { type: 'string', enum: ['status', 'alert'], default: 'status' },
        title: { type: 'string', description: 'Short title (the status action, or the alert title).' },
        text: { type: 'string', description: 'Details.' },
      },
      required: ['title'],
    },
  },
  {
    name: 'nod_ask',
    description:
      'Ask the person to decide and wait for the answer: an approval (approve/reject), a choice among options, or a free-text question.',
    inputSchema: {
      type: 'object',
      properties: {
        kind: { type: 'string', enum: ['approval', 'choice', 'question'] },
        title: { type: 'string', description: 'The question, one line.' },
        description: { type: 'string', description: 'Context the person needs (markdown).' },
        options: { type: 'array', items: { type: 'string' }, description: 'The options (required for choice).' },
        timeout_seconds: {
          type: 'number',
          minimum: 1,
          maximum: 86400,
          default: 600,
          description: 'How long to wait; after that the question stays open and its answer arrives later.',
        },
      },
      required: ['kind', 'title'],
    },
    outputSchema: {
      type: 'object',
      properties: {
        decision_id: { type: 'string' },
        status: { type: 'string', enum: ['pending', 'approved', 'rejected', 'responded', 'dismissed', 'expired'] },
        note: { type: ['string', 'null'] },
      },
      required: ['decision_id', 'status', 'note'],
    },
  },
  {
    name: 'nod_processing',
    description: 'Show or clear the "working" indicator in the app.',
    inputSchema: {
      type: 'object',
      properties: {
        state: { type: 'string', enum: ['start', 'stop'] },
        status_text: { type: 'string', description: 'What you are doing (default "Thinking").' },
      },
      required: ['state'],
    },
  },
  {
    name: 'nod_inbox',
    description: 'Read what the person sent (messages, answers, task wake-ups) since the last call.',
    inputSchema: { type: 'object', properties: {} },
  },
];

const text = (t, isError = false) => ({ content: [{ type: 'text', text: t }], isError });

export async function main(env = process.env) {
  const config = loadAgentConfig(env);
  const channel = env.NOD_CHANNEL !== '0';
  const log = (line) => process.stderr.write(`nod-mcp: ${line}\n`);
  const server = new Server(
    { name: 'nod', version: '0.1.0' },
    {
      capabilities: { tools: {}, ...(channel ? { experimental: { 'claude/channel': {} } } : {}) },
      instructions: INSTRUCTIONS,
    },
  );
  const unread = []; // rendered events not yet returned by nod_inbox (channel mode)
  // Decisions nod_ask waits for or returned: their answer is the tool's
  // result, not a second notice on the channel.
  const answeredByTool = new Set();
  const client = new AgentClient({
    urls: config.urls,
    agentId: config.agentId,
    secret: config.secret,
    stateFile: join(stateDir(env), `state-${config.agentId}.json`),
    onEvent: async (event) => {
      if (event.type === 'decision_resolved' && answeredByTool.has(event.decision_id)) return;
      const rendered = renderEvent(event, client.urls[0]);
      unread.push(rendered);
      if (unread.length > 200) unread.shift();
      await server.notification({ method: 'notifications/claude/channel', params: rendered });
    },
  });
  client.on('connected', () => log(`connected to ${client.urls.join(', ')} as ${config.agentId}`));
  client.on('disconnected', ({ code }) => log(`disconnected (${code}); reconnecting`));
  client.on('error', (err) => log(`stopped: ${err.message}`));

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const args = request.params.arguments ?? {};
    try {
      switch (request.params.name) {
        case 'nod_reply': {
          const event = { type: 'message', text: String(args.text ?? '') };
          if (args.reply_to_id) event.reply_to_id = String(args.reply_to_id);
          if (args.conversation_id) event.conversation_id = String(args.conversation_id);
          const reply = await client.send(event);
          return text(`Sent (message_id ${reply.message_id}).`);
        }
        case 'nod_report': {
          const event =
            args.kind === 'alert'
              ? { type: 'alert', title: String(args.title ?? ''), text: args.text ?? '' }
              : { type: 'status', action: String(args.title ?? ''), details: args.text ? { text: args.text } : {} };
          await client.send(event);
          return text('Recorded.');
        }
        case 'nod_ask':
          return await ask(args);
        case 'nod_processing': {
          const start = args.state === 'start';
          const event = start ? { type: 'processing_start' } : { type: 'processing_stop' };
          if (start && args.status_text) event.status_text = String(args.status_text);
          await client.send(event);
          return text(start ? 'Shown.' : 'Cleared.');
        }
        case 'nod_inbox':
          return await inbox();
        default:
          return text(`unknown tool ${request.params.name}`, true);
      }
    } catch (err) {
      return text(`Nod: ${err.detail ?? err.message}`, true);
    }
  });

  async function ask(args) {
    const decision = { kind: args.kind, title: String(args.title ?? '') };
    if (args.description) decision.description = String(args.description);
    if (Array.isArray(args.options)) decision.options = args.options.map(String);
    const timeoutMs = Math.min(Math.max(Number(args.timeout_seconds ?? 600), 1), 86400) * 1000;
    const { decision_id } = await client.send({ type: 'decision', ...decision });
    answeredByTool.add(decision_id);
    if (answeredByTool.size > 1000) answeredByTool.delete(answeredByTool.values().next().value);
    let result;
    try {
      result = await client.rest.waitDecision(decision_id, { timeoutMs });
    } catch (err) {
      answeredByTool.delete(decision_id);
      throw err;
    }
    const structuredContent = { decision_id, status: result.status, note: result.note ?? null };
    if (result.status === 'pending') {
      answeredByTool.delete(decision_id); // its answer will come as an event
      return {
        ...text(
          `No answer after ${timeoutMs / 1000} s (decision ${decision_id}). It stays open; ` +
            'the answer will arrive as a channel event or in nod_inbox.',
        ),
        structuredContent,
      };
    }
    const note = result.note ? `. ${result.note}` : '';
    return { ...text(`Decision ${decision_id}: ${result.status}${note}`), structuredContent };
  }

  async function inbox() {
    if (channel) {
      const events = unread.splice(0);
      if (!events.length) return text('Nothing new.');
      return text(events.map((e) => `[${e.meta.event} ${JSON.stringify(e.meta)}]\n${e.content}`).join('\n\n'));
    }
    // Without channels: the server keeps the events pending until this call acknowledges them.
    const events = await client.rest.inbox({ after: client.lastSeq, limit: 50 });
    if (!events.length) return text('Nothing new.');
    const rendered = events.map((e) => renderEvent(e, client.urls[0]));
    const last = events[events.length - 1].seq;
    await client.rest.ackInbox(last);
    client.lastSeq = last;
    client.saveState();
    return text(rendered.map((e) => `[${e.meta.event} ${JSON.stringify(e.meta)}]\n${e.content}`).join('\n\n'));
  }

  // Events start flowing only once the MCP client is ready for notifications.
  server.oninitialized = () => {
    if (channel)
      client.start().catch((err) => {
        log(`cannot connect: ${err.message}`);
      });
  };
  const transport = new StdioServerTransport();
  const shutdown = async () => {
    await client.stop();
    process.exit(0);
  };
  transport.onclose = shutdown;
  process.stdin.on('end', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await server.connect(transport);
}
