// @ts-check
// nod-client: the agent's end of Nod server (docs/clients.md).
export { AgentClient } from './agent-client.js';
export { RestClient, NodError } from './rest.js';
export { verifyWebhook, WebhookVerificationError } from './webhook.js';
export { renderEvent } from './render.js';
export { patternMatches, offeredPatterns } from './permissions.js';
export { loadAgentConfig, parseUrls, stateDir } from './config.js';
