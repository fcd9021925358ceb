// Compiled by `tsc -p .` (CTest ts_client_types), never run: a TypeScript
// agent written against the published types must type-check.
import { AgentClient, NodError, verifyWebhook, type AgentEvent } from 'nod-client';

const client = new AgentClient({
  urls: ['http://127.0.0.1:8000'],
  agentId: 'agt_0123456789abcdef',
  secret: 'nod_0123456789abcdef0123456789abcdef01234567',
  stateFile: '/tmp/nod-state.json',
  onEvent: async (event: AgentEvent) => {
    switch (event.type) {
      case 'user_message':
        await client.send({ type: 'message', text: `You said: ${event.text}`, reply_to_id: event.message_id });
        break;
      case 'decision_resolved': {
        const approved: boolean = event.status === 'approved';
        console.log(event.decision_id, approved);
        break;
      }
      case 'task_due':
      case 'task_trigger':
        console.log(event.task_name, event.run_id);
        break;
    }
  },
});
client.on('disconnected', ({ code }) => console.log('closed', code));

export async function run(): Promise<void> {
  await client.start();
  const answer = await client.ask({ kind: 'approval', title: 'Deploy?' }, { timeoutMs: 60_000 });
  if (answer.status === 'pending') console.log('no answer yet');
  try {
    await client.send({ type: 'alert', title: 'Disk full' });
  } catch (err) {
    if (err instanceof NodError && err.status === 429) console.log(err.retryAfter);
  }
  const event = verifyWebhook({ 'webhook-id': 'x' }, Buffer.from('{}'), 'whsec_AAAA');
  console.log(event.seq);
  await client.stop();
}
