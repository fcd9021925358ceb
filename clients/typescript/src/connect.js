// @ts-check
// nod-connect: signs in as a person, creates an agent for this machine,
// writes its profile (mode 0600) and prints how to plug it into Claude Code.
//   node bin/nod-connect.js --url http://127.0.0.1:8000 [--user admin]
//        [--name "Claude Code on host"] [--profile PATH]
// The password comes from NOD_PASSWORD, else it is asked on the terminal.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defaultProfilePath, parseUrls, writeJsonAtomic } from './config.js';

const HOOK_MATCHER = 'Bash|Edit|MultiEdit|Write|NotebookEdit|WebFetch';
const binDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin');

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument "${argv[i]}"`);
    if (m[1] === 'help' || m[1] === 'force') args[m[1]] = true;
    else if (m[2] !== undefined) args[m[1]] = m[2];
    else if (i + 1 < argv.length) args[m[1]] = argv[++i];
    else throw new Error(`--${m[1]} needs a value`);
  }
  return args;
}

async function askHidden(prompt) {
  if (!process.stdin.isTTY) throw new Error('set NOD_PASSWORD (no terminal to ask on)');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // @ts-ignore: readline's private writer, muted so the password is not echoed
  rl._writeToOutput = () => {};
  process.stderr.write(prompt);
  const answer = await new Promise((r) => rl.question('', r));
  rl.close();
  process.stderr.write('\n');
  return answer;
}

async function call(base, method, path, body, token) {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json?.detail ?? text}`);
  return json;
}

const USAGE = `usage: nod-connect --url URL [--user NAME] [--name AGENT_NAME] [--profile PATH] [--force]
Signs in (password from NOD_PASSWORD, else asked), creates an agent, writes its
profile (default ~/.config/nod/profile.json, mode 0600) and prints the Claude Code setup.`;

export async function main(argv = process.argv.slice(2), env = process.env) {
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`nod-connect: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const urls = parseUrls(args.url ?? env.NOD_URL);
  if (!urls.length) {
    process.stderr.write(`nod-connect: --url is required\n${USAGE}\n`);
    return 2;
  }
  const profile = resolve(args.profile ?? defaultProfilePath(env));
  if (existsSync(profile) && !args.force) {
    process.stderr.write(`nod-connect: ${profile} exists; pass --force to replace it, or --profile another path\n`);
    return 2;
  }
  try {
    const user = args.user ?? 'admin';
    const password = env.NOD_PASSWORD ?? (await askHidden(`Nod password for ${user}: `));
    const { token } = await call(urls[0], 'POST', '/api/auth/login', { username: user, password });
    const name = args.name ?? `Claude Code on ${hostname()}`;
    const agent = await call(urls[0], 'POST', '/api/agents', { name }, token);
    writeJsonAtomic(profile, {
      url: urls.join(','),
      agent_id: agent.agent_id ?? agent.id,
      agent_secret: agent.secret,
      agent_name: agent.name,
    });
    const node = process.execPath;
    const hook = {
      hooks: {
        PreToolUse: [
          {
            matcher: HOOK_MATCHER,
            hooks: [
              {
                type: 'command',
                command: `NOD_PROFILE=${profile} ${node} ${resolve(binDir, 'nod-hook.js')}`,
                timeout: 310,
              },
            ],
          },
        ],
      },
    };
    process.stdout.write(
      [
        `Created agent "${agent.name}" (${agent.agent_id ?? agent.id}); its profile is ${profile} (mode 0600).`,
        '',
        'Add the MCP server (messages from the person arrive in the session, Claude answers with nod_* tools):',
        '',
        `  claude mcp add nod -e NOD_PROFILE=${profile} -- ${node} ${resolve(binDir, 'nod-mcp.js')}`,
        '',
        'Start Claude Code with the channel on, so messages arrive without asking:',
        '',
        '  claude --dangerously-load-development-channels server:nod',
        '',
        "Send tool calls to the person's phone for approval: merge this into .claude/settings.json",
        '(the hook waits up to NOD_HOOK_TIMEOUT, 300 s, then Claude Code asks locally):',
        '',
        JSON.stringify(hook, null, 2),
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    process.stderr.write(`nod-connect: ${err.message}\n`);
    return 1;
  }
}
