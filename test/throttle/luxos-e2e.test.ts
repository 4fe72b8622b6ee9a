/**
 * LuxOS beside other tools, end to end (issue 11 point 2): another tool (a fleet manager, a technician's script) holds
 * the rig's one API session from the start. hashgate, through the real daemon and planner, curtails and resumes the
 * rig with that session instead of failing on "Another session is active", survives the other tool logging off and on
 * again in between, and never logs the other tool's session off.
 *
 * No sleeps: every wait is on an event (the simulator's onChange, the controller's onTick), each bounded.
 */

import t from 'tap';
import { buildConfig } from '../../src/config/index.js';
import { startLuxosSim } from '../../src/sim/luxos-sim.js';
import { pool } from '../helpers/sim.js';
import { changes, INSTANT, onePool, rigMiner, rigOf, scriptedSource, SMALL_SITE, startThrottled } from './e2e-kit.js';
import { when } from './wait.js';

t.test('luxos: another tool holds the API session; hashgate curtails and resumes through it and leaves it alone', async (t) => {
  const p = await pool(t, { lifetimeMs: 60_000 });
  const source = scriptedSource();
  const lux = await startLuxosSim({});
  t.teardown(() => lux.close());
  const theirs = lux.otherTool.logon();
  t.ok(theirs, 'the other tool holds the session before hashgate starts');

  const config = buildConfig({
    file: {
      name: 'luxos-e2e',
      value: {
        ...onePool(p.port),
        throttle: SMALL_SITE,
        rigs: [
          {
            name: 'lux',
            match: { worker: 'l.lux' },
            ratedWatts: 1000,
            ratedThs: 10,
            priority: 0,
            driver: { type: 'luxos', host: '127.0.0.1', port: lux.port, settle: INSTANT },
          },
          { name: 'other', match: { worker: 'l.other' }, ratedWatts: 1000, ratedThs: 20, priority: 5, driver: { type: 'stratum' } },
        ],
      },
    },
  });
  const { daemon, port, tw } = await startThrottled(t, config, source);
  const m = await rigMiner(t, port, 'l.lux');
  const other = await rigMiner(t, port, 'l.other');
  lux.onChange((s) => (s.sleeping ? m.pause() : m.resume()));
  await Promise.all([m, other].map((x) => x.waitFor(() => x.stats.accepted > 0, 20_000, 'mining')));
  await tw.until(() => tw.status?.mode === 'live' && tw.status.rigs.length === 2, 'live with both rigs');

  // Depth 5: the GPUs need 500 W; the LuxOS rig (priority 0) goes to sleep, through the other tool's session.
  source.depth = 5;
  await when(() => lux.state.sleeping, 'the LuxOS rig put to sleep', [changes(lux)]);
  await tw.until(() => rigOf(tw.status, 'l.lux')?.state === 'curtailed', 'status shows it curtailed');
  const curtail = lux.commands.find((c) => c.command === 'curtail');
  t.equal(curtail?.parameter, `${theirs},sleep`, "curtailed with the other tool's session id");
  t.notOk(
    lux.commands.some((c) => c.command === 'logon'),
    'no logon (it would fail with "Another session is active")',
  );
  t.equal(rigOf(tw.status, 'l.lux')?.alert, null, 'no driver error');

  // The other tool logs off and takes a new session; hashgate's next command finds the new id and uses it.
  lux.otherTool.logoff();
  const again = lux.otherTool.logon();
  t.not(again, theirs);
  source.depth = 0;
  await when(() => !lux.state.sleeping, 'the LuxOS rig woken', [changes(lux)]);
  t.equal(
    lux.commands.filter((c) => c.command === 'curtail').at(-1)?.parameter,
    `${again},wakeup`,
    "woken with the other tool's new session",
  );
  await tw.until(() => rigOf(tw.status, 'l.lux')?.state === 'running', 'status shows it running');
  const before = m.stats.accepted;
  await m.waitFor(() => m.stats.accepted > before + 2, 20_000, 'shares flow again');

  await daemon.stop();
  t.equal(lux.state.session, again, "hashgate's stop leaves the other tool's session alone");
  t.notOk(
    lux.commands.some((c) => c.command === 'logoff'),
    'hashgate never logged off a session it did not open',
  );
});

t.test('luxos: power targets read from the firmware profiles reach the planner with their TH/s; resume returns to default', async (t) => {
  const p = await pool(t, { lifetimeMs: 60_000 });
  const source = scriptedSource();
  const lux = await startLuxosSim({});
  t.teardown(() => lux.close());
  const config = buildConfig({
    file: {
      name: 'luxos-profiles-e2e',
      value: {
        ...onePool(p.port),
        throttle: { ...SMALL_SITE, siteBudgetWatts: 4250, gpu: { idleWatts: 0, wattsPerRequest: 100, maxWatts: 4250 } },
        rigs: [
          {
            // No `profiles` configured: the firmware's list (default 3,250 W, 2800W, 2400W) is the only source.
            name: 'lux',
            match: { worker: 'l.lux' },
            ratedWatts: 3250,
            ratedThs: 110,
            priority: 0,
            driver: { type: 'luxos', host: '127.0.0.1', port: lux.port, settle: INSTANT },
          },
          { name: 'other', match: { worker: 'l.other' }, ratedWatts: 1000, ratedThs: 20, priority: 5, driver: { type: 'stratum' } },
        ],
      },
    },
  });
  const { port, events, tw } = await startThrottled(t, config, source);
  const m = await rigMiner(t, port, 'l.lux');
  const other = await rigMiner(t, port, 'l.other');
  await Promise.all([m, other].map((x) => x.waitFor(() => x.stats.accepted > 0, 20_000, 'mining')));
  await tw.until(() => tw.status?.mode === 'live' && tw.status.rigs.length === 2, 'live with both rigs');
  await tw.until(() => lux.commands.some((c) => c.command === 'profiles'), 'the profiles read');

  // Depth 4: 400 W to find; the 2800W profile frees 450 W.
  source.depth = 4;
  await when(() => lux.state.profile === '2800W', 'the 2800W profile selected', [changes(lux)]);
  await tw.until(() => rigOf(tw.status, 'l.lux')?.state === 'reduced', 'status shows it reduced');
  await tw.until(() => events.some((e) => e.type === 'set-power'), 'the set-power event');
  const setPower = events.find((e) => e.type === 'set-power');
  t.match(
    setPower,
    { rig: 'l.lux', watts: 2800, reason: /power target 2,800 W \(98\.0 TH\/s of 110\.0\)/ },
    "the firmware's TH/s in the reason",
  );
  t.notOk(lux.state.sleeping, 'reduced, not asleep');

  source.depth = 0;
  await when(() => lux.state.profile === 'default', 'back to the default profile', [changes(lux)]);
  await tw.until(() => rigOf(tw.status, 'l.lux')?.state === 'running', 'status shows it running');
  t.equal(
    lux.commands
      .filter((c) => c.command === 'profileset')
      .at(-1)
      ?.parameter?.split(',')[1],
    'default',
  );
});
