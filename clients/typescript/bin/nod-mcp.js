#!/usr/bin/env node
// nod-mcp: MCP stdio server for Claude Code (docs/claude-code.md).
import { main } from '../src/mcp.js';

main().then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`nod-mcp: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
