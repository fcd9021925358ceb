#!/usr/bin/env node
// nod-connect: Creates an agent and prints the Claude Code setup.
import { main } from '../src/connect.js';

main().then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`nod-connect: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
