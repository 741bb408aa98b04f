/**
 * What `hotcert run` costs while nothing changes, watching N lineages that are all in sync on a real HAProxy:
 * ready time (start → first full sync attempted), RSS, and CPU over an idle window that starts a minute after ready
 * (target checks every 5 s included, the hourly rescan not: its cost is a no-op sync, measured by bench:sync), and
 * the inotify watches it holds (what counts against fs.inotify.max_user_watches).
 * Usage: npm run bench:idle -- [N ...]   (default: 1000 10000; idle window: HOTCERT_BENCH_IDLE_S, default 120; HOTCERT_TEST_HAPROXY picks the series, default 2.6)
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { startHaproxy, type TestHaproxy } from '../test/helpers/haproxy.js';
import { benchHaproxySeries } from './lib/bench-haproxy.js';
import { writeHotcertConfig } from '../test/helpers/hotcert-config.js';
import { runHotcert, startHotcertRun } from '../test/helpers/hotcert-cli.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { forEachLimited, makeIssuer, writeSyntheticLineage, lineageNames } from '../test/helpers/synthetic-lineages.js';

const TICKS_PER_SECOND = 100;
const SETTLE_S = 60;

async function processCpuSeconds(pid: number): Promise<number> {
  // Fields 14 and 15 of /proc/PID/stat (after the command in parentheses): utime and stime, in clock ticks.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

async function memoryMb(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** The inotify watches a process holds: one `inotify wd:` line per watch in the fdinfo of its inotify descriptors. */
async function inotifyWatches(pid: number): Promise<number> {
  let watches = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target !== 'anon_inode:inotify') continue;
    const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    watches += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return watches;
}

async function measure(n: number, idleSeconds: number) {
  const temp = await makeTempDir(`bench-idle-${n}`);
  let haproxy: TestHaproxy | undefined;
  try {
    const letsencrypt = join(temp.path, 'letsencrypt');
    const issuer = await makeIssuer();
    const names = lineageNames(n);
    process.stderr.write(`N=${n}: generating lineages, adding them with hotcert sync…\n`);
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(letsencrypt, issuer, name, 1));
    haproxy = await startHaproxy({ version: benchHaproxySeries() });
    const config = await writeHotcertConfig(temp.path, { letsencryptDir: letsencrypt, haproxy, extraLines: [`state: { file: ${join(temp.path, 'state.json')} }`] });
    const added = await runHotcert(['sync', '--config', config]);
    if (added.code !== 0) throw new Error(`sync failed: ${added.stderr.slice(-500)}`);

    process.stderr.write(`N=${n}: starting hotcert run, then ${idleSeconds} s idle…\n`);
    const startedAt = Date.now();
    const daemon = startHotcertRun(config);
    await waitFor(() => daemon.output().includes('hotcert running'), { timeoutMs: 300_000, intervalMs: 10, what: 'hotcert to be ready' });
    const readyS = (Date.now() - startedAt) / 1000;
    const atReady = await memoryMb(daemon.pid);
    const watches = await inotifyWatches(daemon.pid);
    // The first full sync leaves garbage that V8 collects over the next minute: measure the steady state after it.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
    const cpuBefore = await processCpuSeconds(daemon.pid);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const cpuIdle = (await processCpuSeconds(daemon.pid)) - cpuBefore;
    const afterIdle = await memoryMb(daemon.pid);
    await daemon.stop('SIGTERM');
    return { n, watches, readyS, rssReady: atReady.rss, rssIdle: afterIdle.rss, peak: afterIdle.peak, cpuPerHour: (cpuIdle / idleSeconds) * 3600, idleSeconds };
  } finally {
    await haproxy?.stop();
    await temp.remove();
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((value) => value > 0);
  const idleSeconds = Number(process.env.HOTCERT_BENCH_IDLE_S ?? 120);
  const rows = [];
  for (const n of sizes.length > 0 ? sizes : [1000, 10000]) rows.push(await measure(n, idleSeconds));
  console.log(`hotcert run while idle (all lineages in sync, target checks every 5 s), HAProxy ${benchHaproxySeries()}, Node ${process.versions.node}, 2 cores`);
  console.log('');
  console.log(`| lineages | inotify watches | ready s | RSS at ready MB | RSS after idle MB | peak RSS MB | idle CPU-s per hour | idle window s (after ${SETTLE_S} s) |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(`| ${row.n} | ${row.watches} | ${row.readyS.toFixed(2)} | ${row.rssReady.toFixed(0)} | ${row.rssIdle.toFixed(0)} | ${row.peak.toFixed(0)} | ${row.cpuPerHour.toFixed(2)} | ${row.idleSeconds} |`);
  }
  console.log('');
  console.log('Targets at 10000: under 150 MB RSS, ready under 5 s, under 1 CPU-second per idle hour. The hourly rescan costs a no-op sync (bench:sync).');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
