// @ts-check
// nod-hook: a Claude Code PreToolUse command hook. Each tool call that no
// saved always-allow pattern covers becomes a `permission` card in the
// person's Nod app; the hook waits for the answer and tells Claude Code
// allow, deny or ask. It never allows silently: an unreachable server, a
// timeout or an expired card all give `ask` (Claude Code asks locally).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAgentConfig, readJson, stateDir, writeJsonAtomic } from './config.js';
import { RestClient } from './rest.js';
import { offeredPatterns, patternMatches, summarize } from './permissions.js';

const MAX_INPUT = 1 << 20;
const MAX_PREVIEW = 4000;

function decisionOutput(decision, reason) {
  return {
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: decision,
      permissionDecisionReason: reason,
    },
  };
}

function preview(input) {
  const json = JSON.stringify(input ?? {}, null, 2);
  return json.length > MAX_PREVIEW ? `${json.slice(0, MAX_PREVIEW)}\n… (${json.length - MAX_PREVIEW} more characters)` : json;
}

/** The hook's answer for one PreToolUse input (already parsed). */
export async function decide(hookInput, env = process.env) {
  const tool = String(hookInput.tool_name ?? '');
  const input = hookInput.tool_input ?? {};
  if (!tool) return decisionOutput('ask', 'nod-hook: the hook input has no tool_name');
  let config;
  try {
    config = loadAgentConfig(env);
  } catch (err) {
    return decisionOutput('ask', `nod-hook: ${err.message}`);
  }
  const allowFile = join(stateDir(env), `allow-${config.agentId}.json`);
  const saved = readJson(allowFile, { patterns: [] });
  const covering = (saved.patterns ?? []).find((p) => patternMatches(p, tool, input));
  if (covering) return decisionOutput('allow', `Always allowed in Nod (${covering})`);

  const timeoutSeconds = Math.max(1, Number(env.NOD_HOOK_TIMEOUT) || 300);
  const rest = new RestClient({ urls: config.urls, agentId: config.agentId, secret: config.secret, timeoutMs: 10000 });
  const description = [
    hookInput.cwd ? `in \`${hookInput.cwd}\`` : '',
    '```json',
    preview(input),
    '```',
    hookInput.session_id ? `Claude Code session \`${hookInput.session_id}\`` : '',
  ]
    .filter(Boolean)
    .join('\n');
  let decisionId;
  try {
    const reply = await rest.sendEvent({
      type: 'decision',
      kind: 'permission',
      title: summarize(tool, input),
      description,
      allows_always: true,
      always_allow_options: offeredPatterns(tool, input),
      // The card goes away when the hook stops waiting: Claude Code asks locally then.
      expires_in: timeoutSeconds,
    });
    decisionId = reply.decision_id;
  } catch (err) {
    return decisionOutput('ask', `Nod server unreachable or refused the request: ${err.detail ?? err.message}`);
  }
  let decision;
  try {
    decision = await rest.waitDecision(decisionId, { timeoutMs: (timeoutSeconds + 5) * 1000 });
  } catch (err) {
    return decisionOutput('ask', `Lost Nod server while waiting: ${err.detail ?? err.message}`);
  }
  const note = decision.note ? `: ${decision.note}` : '';
  switch (decision.status) {
    case 'approved':
      if (decision.always_allow && decision.always_allow_pattern) {
        const patterns = readJson(allowFile, { patterns: [] }).patterns ?? [];
        if (!patterns.includes(decision.always_allow_pattern)) patterns.push(decision.always_allow_pattern);
        writeJsonAtomic(allowFile, { patterns });
        return decisionOutput('allow', `Approved in Nod, always (${decision.always_allow_pattern})${note}`);
      }
      return decisionOutput('allow', `Approved in Nod${note}`);
    case 'rejected':
      return decisionOutput('deny', `Denied in Nod${note}`);
    case 'pending':
      return decisionOutput('ask', `No answer in Nod within ${timeoutSeconds} s`);
    default:
      return decisionOutput('ask', `The Nod request was ${decision.status}${note}`);
  }
}

export async function main(env = process.env) {
  let hookInput;
  try {
    const raw = readFileSync(0);
    if (raw.length > MAX_INPUT) throw new Error('more than 1 MiB on stdin');
    hookInput = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    process.stdout.write(JSON.stringify(decisionOutput('ask', `nod-hook: unreadable hook input (${err.message})`)) + '\n');
    return;
  }
  let output;
  try {
    output = await decide(hookInput, env);
  } catch (err) {
    output = decisionOutput('ask', `nod-hook: ${err.message}`);
  }
  process.stdout.write(JSON.stringify(output) + '\n');
}
