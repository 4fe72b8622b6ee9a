#!/usr/bin/env node
// Thin shim: all logic lives in dist/cli (built from src/cli by `npm run build`).
import { main } from '../dist/cli/main.js';

// `hashgate plan --json | head`: the reader went away; that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err?.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`hashgate: internal error: ${err?.stack ?? err} [HG_ERR_INTERNAL]\n`);
    process.exitCode = 70;
  },
);
