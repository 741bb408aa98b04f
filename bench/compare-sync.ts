/**
 * Two or more builds of hotcert, side by side on one HAProxy: N lineages added once, then renewed `rounds` times,
 * each round running every build once (the order reversed every other round), so that a drift of the machine's
 * speed falls on all of them alike. Per sync: wall, user + sys CPU and peak RSS of the whole process, the CPU of
 * each of its threads (in the order they were created: main first), HAProxy's CPU and the whole machine's, and how
 * HAProxy's CLI thread spent the sync: running, runnable but waiting for a CPU, or asleep waiting for hotcert. This
 * VM's speed drifts by ±20% within minutes (HAProxy's CPU for the same commands moves as much), so the summary also
 * gives hotcert's CPU over HAProxy's in the same sync: the figure to compare builds by.
 *
 * Usage: node dist-bench/bench/compare-sync.js N rounds BUILD BUILD...
 * where BUILD is one argument: `[VAR=value ...] [--node-flag ...] path/to/main.js`, e.g.
 *   node dist-bench/bench/compare-sync.js 2000 3 dist/main.js '--max-opt=1 dist/main.js' /tmp/other/main.js
 * HOTCERT_TEST_HAPROXY picks the HAProxy series (2.6 by default); TMPDIR, where bundles are written and fsynced;
 * HOTCERT_BENCH_PHASE=no-op leaves the lineages as they are between syncs, to compare no-op syncs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHaproxy } from '../test/helpers/haproxy.js';
import type { HaproxyVersion } from '../test/helpers/haproxy-versions.js';
import { writeHotcertConfig } from '../test/helpers/hotcert-config.js';
import { forEachLimited, makeIssuer, writeSyntheticLineage, lineageNames } from '../test/helpers/synthetic-lineages.js';
import { busiestThread, cpuSeconds, haproxyWorkerPid, machineCpuSeconds, threadSchedules, type ThreadSchedule } from './lib/proc-cpu.js';
import { median } from './lib/stats.js';
import { timedSync, type HotcertBuild, type TimedSync } from './lib/timed-sync.js';

interface Build extends HotcertBuild {
  readonly label: string;
}

interface SyncFigures extends TimedSync {
  readonly haproxyS: number;
  readonly machineS: number;
  /** HAProxy's busiest thread (the one that runs the CLI): run and run-queue wait during the sync. */
  readonly haproxyThread: ThreadSchedule;
}

function parseBuild(spec: string): Build {
  const words = spec.trim().split(/\s+/);
  const main = words.pop();
  if (!main) throw new Error(`an empty build spec`);
  return {
    label: spec.trim(),
    env: Object.fromEntries(words.filter((word) => !word.startsWith('--')).map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)])),
    nodeFlags: words.filter((word) => word.startsWith('--')),
    main: resolve(main),
  };
}

/** One timed sync, with what HAProxy and the whole machine ran meanwhile. */
async function runSync(build: Build, configFile: string, dir: string, haproxyPid: number): Promise<SyncFigures> {
  const haproxyBefore = cpuSeconds(`/proc/${haproxyPid}/stat`);
  const threadsBefore = threadSchedules(haproxyPid);
  const machineBefore = machineCpuSeconds();
  const sync = await timedSync(build, configFile, dir);
  return {
    ...sync,
    haproxyS: cpuSeconds(`/proc/${haproxyPid}/stat`) - haproxyBefore,
    machineS: machineCpuSeconds() - machineBefore,
    haproxyThread: busiestThread(threadsBefore, threadSchedules(haproxyPid)),
  };
}

async function main(): Promise<void> {
  const [nArg, roundsArg, ...specs] = process.argv.slice(2);
  const n = Number(nArg);
  const rounds = Number(roundsArg);
  if (!(n > 0) || !(rounds > 0) || specs.length === 0) throw new Error('usage: compare-sync.js N rounds BUILD [BUILD...]');
  const builds = specs.map(parseBuild);
  const series = (process.env.HOTCERT_TEST_HAPROXY ?? '2.6') as HaproxyVersion;
  const phase = process.env.HOTCERT_BENCH_PHASE ?? 'renew';
  if (phase !== 'renew' && phase !== 'no-op') throw new Error(`HOTCERT_BENCH_PHASE is renew or no-op, not ${phase}`);
  const dir = await mkdtemp(join(tmpdir(), 'hotcert-compare-'));
  const configDir = join(dir, 'letsencrypt');
  const names = lineageNames(n);
  const haproxy = await startHaproxy({ version: series });
  try {
    const haproxyPid = await haproxyWorkerPid(haproxy);
    const issuer = await makeIssuer();
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(configDir, issuer, name, 1));
    const configFile = await writeHotcertConfig(dir, { letsencryptDir: configDir, haproxy });
    const added = await runSync(builds[0] as Build, configFile, dir, haproxyPid);
    const perSync = phase === 'renew' ? `${n} renewals per sync` : `no-op syncs of ${n} lineages`;
    console.log(`HAProxy ${haproxy.version}, ${perSync}, ${rounds} rounds; CPU in seconds; threads in the order created, main first`);
    console.log('| build | wall s | user s | sys s | peak RSS MB | HAProxy CPU s | HAProxy CLI thread: run / waiting for a CPU / asleep, ms per certificate | machine CPU s | threads |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    // The first build adds the N lineages: that sync's row too, marked, and left out of the medians.
    printRow(`${(builds[0] as Build).label} (adding the ${n})`, added, n);
    const figures = new Map<Build, SyncFigures[]>(builds.map((build) => [build, []]));
    let version = 1;
    for (let round = 0; round < rounds; round += 1) {
      for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
        if (phase === 'renew') {
          version += 1;
          await forEachLimited(names, 16, (name) => writeSyntheticLineage(configDir, issuer, name, version));
        }
        const sync = await runSync(build, configFile, dir, haproxyPid);
        figures.get(build)?.push(sync);
        printRow(build.label, sync, n);
      }
    }
    console.log('');
    console.log('| build | median wall s | median CPU s | median CPU / HAProxy CPU | median HAProxy CLI thread asleep, ms per certificate |');
    console.log('|---|---|---|---|---|');
    for (const [build, syncs] of figures) {
      const cpu = syncs.map((sync) => sync.userS + sync.sysS);
      const relative = syncs.map((sync) => (sync.userS + sync.sysS) / sync.haproxyS);
      const asleepMs = syncs.map((sync) => (haproxyAsleepS(sync) * 1000) / n);
      console.log(`| ${build.label} | ${median(syncs.map((sync) => sync.wallS)).toFixed(2)} | ${median(cpu).toFixed(2)} | ${median(relative).toFixed(2)} | ${median(asleepMs).toFixed(2)} |`);
    }
  } finally {
    await haproxy.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// Asleep: neither running nor waiting for a CPU, so waiting for hotcert's next request (the wall time includes
// hotcert's start and its reads before the first commit, a fixed part).
function haproxyAsleepS(sync: SyncFigures): number {
  return sync.wallS - sync.haproxyThread.runS - sync.haproxyThread.waitS;
}

function printRow(label: string, sync: SyncFigures, certificates: number): void {
  const threads = sync.threadsS.filter((seconds) => seconds > 0).map((seconds) => seconds.toFixed(2)).join(' ');
  console.log(`| ${label} | ${sync.wallS.toFixed(2)} | ${sync.userS.toFixed(2)} | ${sync.sysS.toFixed(2)} | ${sync.rssMb.toFixed(0)} | ${sync.haproxyS.toFixed(2)} | ${cliThread(sync, certificates)} | ${sync.machineS.toFixed(2)} | ${threads} |`);
}

function cliThread(sync: SyncFigures, certificates: number): string {
  const perCertificateMs = (seconds: number): string => ((seconds * 1000) / certificates).toFixed(2);
  return `${perCertificateMs(sync.haproxyThread.runS)} / ${perCertificateMs(sync.haproxyThread.waitS)} / ${perCertificateMs(haproxyAsleepS(sync))}`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
