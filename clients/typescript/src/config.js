// @ts-check
// Where the bins find their server and credentials: NOD_URL, NOD_AGENT_ID
// and NOD_AGENT_SECRET, else the profile that nod-connect wrote
// (NOD_PROFILE, default ~/.config/nod/profile.json). Local state (the last
// seq handled, the hook's always-allow patterns) lives beside the profile,
// in NOD_STATE_DIR (default ~/.config/nod).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The folder for profiles and state. */
export function stateDir(env = process.env) {
  return env.NOD_STATE_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'nod');
}

export function defaultProfilePath(env = process.env) {
  return env.NOD_PROFILE || join(stateDir(env), 'profile.json');
}

/** Splits "http://a:8000, http://b:8000" into base URLs without a trailing slash. */
export function parseUrls(value) {
  const urls = String(value || '')
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  for (const u of urls) {
    let parsed;
    try {
      parsed = new URL(u);
    } catch {
      throw new Error(`NOD_URL: "${u}" is not a URL (e.g. http://127.0.0.1:8000)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new Error(`NOD_URL: "${u}" must start with http:// or https://`);
  }
  return urls;
}

/**
 * The agent's settings from the environment, falling back to the profile.
 * @returns {{urls: string[], agentId: string, secret: string, profile: string}}
 */
export function loadAgentConfig(env = process.env) {
  const profilePath = defaultProfilePath(env);
  let profile = {};
  if (!env.NOD_URL || !env.NOD_AGENT_ID || !env.NOD_AGENT_SECRET) {
    try {
      profile = JSON.parse(readFileSync(profilePath, 'utf8'));
    } catch (err) {
      if (err.code !== 'ENOENT') throw new Error(`${profilePath}: ${err.message}`);
    }
  }
  const urls = parseUrls(env.NOD_URL || profile.url);
  const agentId = env.NOD_AGENT_ID || profile.agent_id;
  const secret = env.NOD_AGENT_SECRET || profile.agent_secret;
  const missing = [];
  if (urls.length === 0) missing.push('NOD_URL');
  if (!agentId) missing.push('NOD_AGENT_ID');
  if (!secret) missing.push('NOD_AGENT_SECRET');
  if (missing.length)
    throw new Error(
      `${missing.join(', ')} not set, and no profile at ${profilePath} (run nod-connect, or set the variables)`,
    );
  return { urls, agentId, secret, profile: profilePath };
}

/** Reads a JSON file, or `fallback` when it does not exist. */
export function readJson(path, fallback) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return fallback;
    throw new Error(`${path}: ${err.message}`);
  }
}

/** Writes JSON by rename, so a crash leaves the old file or the new one; mode 0600. */
export function writeJsonAtomic(path, value) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
