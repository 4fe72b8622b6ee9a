/**
 * MinerWork: what a share is checked against. A job keeps the extranonce and difficulty it was sent
 * under, so a share of an older job that was on its way when the pool changed extranonce1 is judged
 * as the pool judges it (found under load by test/daemon/protocol.test.ts: such shares were rejected
 * locally while the pool accepted them).
 */
import t from 'tap';
import type { NotifyMessage } from '../../src/protocol/pool.js';
import { MinerWork } from '../../src/session/miner-work.js';
import { JobCache } from '../../src/work/job-cache.js';
import { TEST_JOB } from '../helpers/fake-upstream.js';

const notify = (jobId: string, cleanJobs = false): NotifyMessage => ({ type: 'notify', id: null, job: { ...TEST_JOB, jobId }, cleanJobs });

t.test('a share is checked against the extranonce its job was sent with', async (t) => {
  const w = new MinerWork(new JobCache());
  w.setExtranonce('aaaa0001', 4);
  t.ok(w.notify(notify('j1')).ok);
  t.equal(w.setExtranonce('bbbb0002', 8), true, 'a change');
  t.ok(w.notify(notify('j2', true)).ok);
  t.match(w.context('j1'), { extranonce1: 'aaaa0001', extranonce2Size: 4 }, 'the older job: the old extranonce');
  t.match(w.context('j2'), { extranonce1: 'bbbb0002', extranonce2Size: 8 }, 'the job after the change: the new one');
  t.match(w.context('unknown'), { extranonce1: 'bbbb0002', extranonce2Size: 8 }, 'a job never sent: the current one');
  t.same([w.extranonce1, w.extranonce2Size], ['bbbb0002', 8]);
});

t.test('difficulty: the lower of the one a job was sent at and the one in force', async (t) => {
  const w = new MinerWork(new JobCache());
  w.setExtranonce('aaaa0001', 4);
  w.setDifficulty(8);
  w.notify(notify('j1'));
  w.setDifficulty(16);
  w.notify(notify('j2'));
  t.equal(w.context('j1').difficulty, 8);
  t.equal(w.context('j2').difficulty, 16);
  w.setDifficulty(4);
  t.equal(w.context('j2').difficulty, 4, 'a lower difficulty applies at once');
});

t.test('local difficulty: the miner works at min(local, pool); each is remembered per job, the lower one rules', async (t) => {
  const w = new MinerWork(new JobCache());
  w.setExtranonce('aaaa0001', 4);
  t.equal(w.setDifficulty(1024), 1024, 'no local difficulty: the pool difficulty');
  t.equal(w.setLocalDifficulty(16), 16, 'local below the pool: the miner gets the local one');
  t.same([w.difficulty, w.poolDifficulty, w.localDifficulty], [16, 1024, 16]);
  w.notify(notify('j1'));
  t.match(w.context('j1'), { difficulty: 16, poolDifficulty: 1024 });

  // cgminer keeps the old difficulty for work of jobs it already has; other firmware switches at once. A change
  // either way: a share of j1 is accepted at the lower of the two, so neither kind of firmware loses a share.
  t.equal(w.setLocalDifficulty(64), 64, 'retarget up');
  t.match(w.context('j1'), { difficulty: 16 }, 'j1 was sent at 16: a share mined at 16 (cgminer) still counts');
  w.notify(notify('j2'));
  t.match(w.context('j2'), { difficulty: 64 }, 'j2 at the new value');
  t.equal(w.setLocalDifficulty(8), 8, 'retarget down');
  t.match(w.context('j2'), { difficulty: 8 }, 'lower at once (a firmware that applies it at once mines j2 at 8)');

  t.equal(w.setDifficulty(4), 4, 'the pool drops below the local difficulty: local ≤ pool always');
  t.match(w.context('j2'), { difficulty: 4, poolDifficulty: 4 });
  t.equal(w.setDifficulty(2048), 8, 'the pool rises again: the local difficulty is back');
  t.equal(w.setLocalDifficulty(null), 2048, 'local off: the pool difficulty');
  t.equal(w.localDifficulty, null);
});
