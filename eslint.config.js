// ESLint (lint) + Prettier (format): pure-JS tools, so `npm ci` installs them on
// any platform from the lock file (biome's per-platform binaries could not be
// locked from this registry). Which layer may import which is not here: the layer
// map and its rules are in .dependency-cruiser.mjs (docs/architecture.md). This file
// keeps packages where they belong.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PURE = 'The work core, protocol and util layers are pure (DESIGN.md layers): no sockets, files, Redis or logging here.';
const purePaths = ['node:net', 'node:fs', 'node:fs/promises', 'node:http', 'node:child_process', 'ioredis', 'pino'].map((name) => ({
  name,
  message: PURE,
}));
const LOG = { name: 'pino', message: 'Log through src/util/log.ts (one log module; redaction lives there).' };
const REDIS = { name: 'ioredis', message: 'Redis goes through src/throttle/redis.ts (the one Redis adapter, DESIGN.md layers).' };
// The config is validated before logging starts and loads no sockets (docs/architecture.md).
const CONFIG = 'The config layer has no logger and no sockets (docs/architecture.md): log levels are in ../util/log-levels.js.';
const configPaths = ['node:net', 'node:http', 'node:child_process', 'ioredis', 'pino', '../util/log.js'].map((name) => ({
  name,
  message: CONFIG,
}));
// The pool link is a state machine over an injected transport and clock: sockets only in its node:net transport.
const LINK = 'The pool link has no socket (docs/architecture.md): node:net lives in src/upstream/net-transport.ts.';
const linkPaths = ['node:net', 'node:tls', 'node:dgram'].map((name) => ({ name, message: LINK }));
// hashgate's Redis adapter, and the demo's and bench's stand-ins for the site's scheduler (the outside world's side of Redis).
const REDIS_FILES = ['src/throttle/redis.ts', 'src/demo/redis-writer.ts', 'src/bench/throttle.ts'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tap/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/util/log.ts', ...REDIS_FILES],
    rules: { 'no-restricted-imports': ['error', { paths: [LOG, REDIS] }] },
  },
  { files: REDIS_FILES, rules: { 'no-restricted-imports': ['error', { paths: [LOG] }] } },
  {
    files: [
      'src/work/**/*.ts',
      'src/protocol/**/*.ts',
      'src/util/hex.ts',
      'src/util/errors.ts',
      'src/util/log-levels.ts',
      'src/util/line-framer.ts',
      'src/util/clock.ts',
      'src/util/rng.ts',
      'src/util/md5-crypt.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { paths: purePaths }] },
  },
  {
    files: ['src/upstream/**/*.ts'],
    ignores: ['src/upstream/net-transport.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [LOG, REDIS, ...linkPaths] }] },
  },
  // Size (issue 10): a product file under ~400 lines of code, a function under 80. A file over the
  // line limit says why in its header, next to an eslint-disable for max-lines. Simulators, the demo
  // and benchmarks sit beside the product and are not held to it.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/sim/**', 'src/demo/**', 'src/bench/**'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  { files: ['src/config/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: configPaths }] } },
);
