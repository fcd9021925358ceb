// Types of nod-client (the sources are JavaScript with JSDoc; these are
// what TypeScript users see). The shapes follow docs/api.md A2-A7.
import { EventEmitter } from 'node:events';

/** Every event delivered to an agent carries these (API.md A4). */
interface DeliveredBase {
  event_id: string;
  /** Per agent, strictly increasing, no gaps. */
  seq: number;
}
export interface UserMessageEvent extends DeliveredBase {
  type: 'user_message';
  message_id: string;
  conversation_id: string;
  text: string;
  sender_name?: string;
  image_url?: string | null;
  image_urls?: string[];
  audio_url?: string | null;
  reply_to_id?: string | null;
  reply_to_text?: string | null;
}
export type DecisionStatus = 'approved' | 'rejected' | 'responded' | 'dismissed' | 'expired';
export interface DecisionResolvedEvent extends DeliveredBase {
  type: 'decision_resolved';
  decision_id: string;
  status: DecisionStatus;
  note?: string | null;
  conversation_id?: string | null;
  task_run_id?: string | null;
  always_allow?: boolean;
  always_allow_pattern?: string | null;
}
export interface TaskDueEvent extends DeliveredBase {
  type: 'task_due';
  task_id: string;
  run_id: string;
  task_name: string;
  task_prompt: string;
  schedule: string;
}
export interface TaskTriggerEvent extends DeliveredBase {
  type: 'task_trigger';
  task_id: string;
  run_id: string;
  task_name: string;
  task_prompt: string;
  payload: unknown;
  received_at: string;
}
export type AgentEvent = UserMessageEvent | DecisionResolvedEvent | TaskDueEvent | TaskTriggerEvent;

/** What an agent sends (API.md A2). */
export type OutgoingEvent =
  | { type: 'message'; text?: string; image_base64?: string; conversation_id?: string; reply_to_id?: string; report_title?: string; report_description?: string; task_run_id?: string }
  | ({ type: 'decision' } & DecisionRequest)
  | { type: 'alert'; title: string; text?: string; task_run_id?: string }
  | { type: 'processing_start' | 'agent_heartbeat'; conversation_id?: string; status_text?: string }
  | { type: 'processing_stop' | 'agent_idle'; conversation_id?: string }
  | { type: 'status'; action: string; details?: unknown }
  | { type: 'task_proposal'; title: string; task_name: string; task_prompt: string; task_schedule: string };

export interface DecisionRequest {
  title: string;
  kind: 'approval' | 'choice' | 'question' | 'permission';
  description?: string;
  options?: string[];
  conversation_id?: string | null;
  task_run_id?: string;
  allows_always?: boolean;
  always_allow_label?: string;
  always_allow_options?: { pattern: string; label: string }[];
  expires_in?: number;
}

/** A decision as GET /api/agent/decisions/{id} returns it. */
export interface Decision extends DecisionRequest {
  id: string;
  status: 'pending' | DecisionStatus;
  note?: string | null;
  always_allow?: boolean;
  always_allow_pattern?: string | null;
  created_at: string;
  resolved_at?: string;
  [field: string]: unknown;
}

/** The server's reply to a sent event: `{status: "ok", …ids}`. */
export interface EventReply {
  status: 'ok';
  message_id?: string;
  conversation_id?: string;
  decision_id?: string;
  activity_id?: string;
}

export class NodError extends Error {
  /** HTTP status; 0 when no server answered. */
  status: number;
  detail: string;
  retryAfter?: number;
  /** 'unreachable' | 'disconnected' | 'timeout' | 'stopped' | 'auth' */
  code?: string;
}

export interface RestClientOptions {
  urls: string[];
  agentId: string;
  secret: string;
  timeoutMs?: number;
}
export class RestClient {
  constructor(options: RestClientOptions);
  readonly urls: string[];
  request(method: string, path: string, options?: { body?: unknown; headers?: Record<string, string>; wait?: number }): Promise<any>;
  sendEvent(event: OutgoingEvent, options?: { idempotencyKey?: string }): Promise<EventReply>;
  inbox(options?: { after?: number; limit?: number; wait?: number }): Promise<AgentEvent[]>;
  ackInbox(seq: number): Promise<{ status: 'ok'; acked: number }>;
  decision(id: string, options?: { wait?: number }): Promise<Decision>;
  waitDecision(id: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Decision>;
  me(): Promise<Record<string, unknown>>;
}

export interface AgentClientOptions {
  /** One server URL, or `urls`: several, tried in turn (cluster nodes). */
  url?: string;
  urls?: string[];
  agentId: string;
  secret: string;
  /** 'websocket' (default) or 'poll' (REST long polls). */
  transport?: 'websocket' | 'poll';
  /** Acknowledge each event after the handler returns (default true). */
  acks?: boolean;
  /** Handed each event once, in seq order; the next waits until it returns. */
  onEvent?: (event: AgentEvent) => unknown | Promise<unknown>;
  /** Keeps the last handled seq across restarts. */
  stateFile?: string;
  resumeFrom?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  requestTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Seconds each long poll waits (transport 'poll'). */
  pollWait?: number;
}

export class AgentClient extends EventEmitter {
  constructor(options: AgentClientOptions);
  readonly rest: RestClient;
  readonly connected: boolean;
  /** The seq of the last event the handler finished. */
  lastSeq: number;
  start(): Promise<unknown>;
  stop(): Promise<void>;
  send(event: OutgoingEvent): Promise<EventReply>;
  ask(decision: DecisionRequest, options?: { timeoutMs?: number }): Promise<Decision>;
  on(name: 'connected', listener: (frame: { type: string; session_id?: string; pending?: number }) => void): this;
  on(name: 'disconnected', listener: (info: { code: number; reason: string }) => void): this;
  on(name: 'event', listener: (event: AgentEvent) => void): this;
  on(name: 'error', listener: (error: NodError) => void): this;
  on(name: 'handlerError', listener: (event: AgentEvent, error: unknown) => void): this;
}

export class WebhookVerificationError extends Error {}
export function verifyWebhook(
  headers: Record<string, string | string[] | undefined> | Headers,
  rawBody: string | Buffer | Uint8Array,
  secret: string,
  options?: { toleranceSeconds?: number; now?: number },
): AgentEvent;

export function renderEvent(event: AgentEvent, base?: string): { content: string; meta: Record<string, string> };
export function patternMatches(pattern: string, toolName: string, input: Record<string, unknown>): boolean;
export function offeredPatterns(toolName: string, input: Record<string, unknown>): { pattern: string; label: string }[];
export function loadAgentConfig(env?: Record<string, string | undefined>): { urls: string[]; agentId: string; secret: string; profile: string };
export function parseUrls(value: string | undefined): string[];
export function stateDir(env?: Record<string, string | undefined>): string;
