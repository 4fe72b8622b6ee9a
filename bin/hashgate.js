#!/usr/bin/env node
// Thin shim: all logic lives in dist/cli (built from src/cli by `npm run build`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`hashgate: internal error: ${err?.stack ?? err} [HG_ERR_INTERNAL]\n`);
    process.exitCode = 70;
  },
);
