// A serverless webhook receiver (the Fetch API handler that Cloudflare
// Workers, Vercel, Deno Deploy and Lambda's function URLs with an adapter
// all take): checks Nod's signature on the raw body, does its work, and
// answers 200 well within the webhook timeout (30 s by default). Anything
// longer belongs in a queue, or in a task: answer first, then work.
//
// Replies go out over REST with the event's id in the Idempotency-Key, so
// when Nod retries a webhook (a timeout, a 5xx) the person still gets one
// reply, not one per attempt.
//
// Locally: NOD_URL=… NOD_AGENT_ID=… NOD_AGENT_SECRET=… NOD_WEBHOOK_SECRET=whsec_… \
//   PORT=8787 node examples/serverless-webhook.mjs   (then set the agent's webhook_url)
import { createServer } from 'node:http';
import { RestClient, verifyWebhook, WebhookVerificationError, loadAgentConfig } from '../clients/typescript/src/index.js';

export async function handler(request, env = process.env) {
  if (request.method !== 'POST') return new Response('POST only', { status: 405 });
  const raw = Buffer.from(await request.arrayBuffer());
  let event;
  try {
    event = verifyWebhook(request.headers, raw, env.NOD_WEBHOOK_SECRET);
  } catch (err) {
    if (err instanceof WebhookVerificationError) return new Response(err.message, { status: 401 });
    throw err;
  }
  const { urls, agentId, secret } = loadAgentConfig(env);
  const nod = new RestClient({ urls, agentId, secret, timeoutMs: 10000 });
  if (event.type === 'user_message') {
    await nod.sendEvent(
      { type: 'message', text: `Got it: ${event.text}`, reply_to_id: event.message_id, conversation_id: event.conversation_id },
      { idempotencyKey: `reply-${event.event_id}` },
    );
  } else if (event.type === 'task_due' || event.type === 'task_trigger') {
    await nod
      .request('POST', `/api/agent/tasks/runs/${event.run_id}/complete`, { body: { status: 'completed' } })
      .catch((err) => {
        if (err.status !== 409) throw err; // 409: a retry of a run already completed
      });
  }
  // 2xx: delivered. Anything else, Nod retries with backoff.
  return new Response(null, { status: 204 });
}

// Node's http server in front of the handler, for running it locally.
export function serve(port, env = process.env) {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const request = new Request(`http://localhost${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).map(([k, v]) => [k, String(v)]),
      body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    try {
      const response = await handler(request, env);
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (err) {
      res.writeHead(500).end(String(err.message));
    }
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await serve(Number(process.env.PORT || 8787));
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
}
