#!/usr/bin/env node
// nod-hook: Claude Code PreToolUse hook: tool calls as permission cards in Nod.
import { main } from '../src/hook.js';

main().then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`nod-hook: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
