// nod-connect against the real server: an agent, its profile, the setup lines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, startServer } from './server.mjs';

const BIN = fileURLToPath(new URL('../bin/nod-connect.js', import.meta.url));
const run = promisify(execFile);

let server;
before(async () => {
  server = await startServer();
});
after(() => server?.stop());

test('creates an agent, writes a 0600 profile the other bins use, prints the setup', async () => {
  const profile = join(server.dir, 'conf', 'profile.json');
  const env = { PATH: process.env.PATH, NOD_PASSWORD: ADMIN_PASSWORD };
  const { stdout } = await run(process.execPath, [BIN, '--url', server.base, '--name', 'Laptop', '--profile', profile], { env });
  assert.equal(statSync(profile).mode & 0o777, 0o600);
  const saved = JSON.parse(readFileSync(profile, 'utf8'));
  assert.equal(saved.url, server.base);
  assert.match(saved.agent_id, /^agt_[0-9a-f]{16}$/);
  assert.match(saved.agent_secret, /^nod_[0-9a-f]{40}$/);
  const agents = await server.person('GET', '/api/agents');
  assert.ok(agents.some((a) => a.id === saved.agent_id && a.name === 'Laptop'));
  assert.match(stdout, new RegExp(`claude mcp add nod -e NOD_PROFILE=${profile} -- \\S+ \\S+/bin/nod-mcp.js`));
  const hooks = JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1));
  const command = hooks.hooks.PreToolUse[0].hooks[0].command;
  assert.match(command, /bin\/nod-hook\.js$/);
  // The printed hook command works as printed: it finds the agent by its profile.
  const hook = await run('sh', ['-c', `echo '{"tool_name":"Bash","tool_input":{"command":"ls"}}' | NOD_HOOK_TIMEOUT=1 ${command}`], {
    env: { PATH: process.env.PATH },
  });
  assert.equal(JSON.parse(hook.stdout).hookSpecificOutput.permissionDecision, 'ask');
  const [card] = await server.person('GET', `/api/decisions?agent_id=${saved.agent_id}`);
  assert.equal(card.title, 'Bash: ls');

  // An existing profile is not replaced by accident; a wrong password fails clearly.
  await assert.rejects(run(process.execPath, [BIN, '--url', server.base, '--profile', profile], { env }), (err) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /exists; pass --force/);
    return true;
  });
  await assert.rejects(
    run(process.execPath, [BIN, '--url', server.base, '--profile', join(server.dir, 'p2.json')], {
      env: { ...env, NOD_PASSWORD: 'wrong' },
    }),
    (err) => err.code === 1 && /401/.test(err.stderr),
  );
});
