import { PassThrough } from 'node:stream';
import t from 'tap';
import { createLogger, redactUrl, truncateForLog } from '../../src/util/log.js';

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  stream.on('data', (c: Buffer) => {
    buf += c.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
  });
  return { stream, lines };
}

t.test('JSON lines with level labels; secrets never written', async (t) => {
  const { stream, lines } = capture();
  const log = createLogger({ destination: stream, level: 'debug' });
  log.info(
    { pool: { url: 'stratum+tcp://pool:3333', password: 'hunter2' }, token: 'abc', redisUrl: 'redis://:pw@r:6379' },
    'pool configured',
  );
  log.debug({ method: 'mining.authorize', params: ['rig1', 'x-secret'] }, 'request');
  await new Promise((r) => setImmediate(r));
  const text = JSON.stringify(lines);
  t.equal(lines.length, 2);
  t.equal(lines[0].level, 'info');
  t.equal(lines[0].msg, 'pool configured');
  t.notMatch(text, /hunter2|x-secret|:pw@|"abc"/);
  t.match(text, /\[redacted\]/);
});

t.test('helpers', async (t) => {
  t.equal(redactUrl('redis://:secret@10.0.0.5:6379/0'), 'redis://***@10.0.0.5:6379/0');
  t.equal(redactUrl('stratum+tcp://user.rig:pw@pool.example:3333'), 'stratum+tcp://***@pool.example:3333');
  t.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  t.equal(truncateForLog('abc'), 'abc');
  t.match(truncateForLog('x'.repeat(1000), 10), /^x{10}…\(1000 chars\)$/);
});
