/**
 * `hotcert run` (the daemon, warm) facing bursts, against a raw runtime API client on a second HAProxy:
 * - start: the daemon's first pass over N new lineages (spawn → its "hotcert running" line);
 * - burst: all N renewed at once, as `certbot renew` leaves many lineages (Certbot-style link flips, 16 lineages at a
 *   time); the daemon's rate from its first "certificate deployed" line to its N-th (their timestamps), its CPU and
 *   HAProxy's over the burst;
 * - raw: the same renewals by the raw client (`set` + `commit` over one connection).
 * Usage: npm run bench:bulk -- [N ...]   (default: 2000; HOTCERT_TEST_HAPROXY picks the series, 2.6 by default)
 */
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHaproxy, type TestHaproxy } from '../test/helpers/haproxy.js';
import type { HaproxyVersion } from '../test/helpers/haproxy-versions.js';
import { startHotcertRun } from '../test/helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../test/helpers/hotcert-config.js';
import type { TrackedProcess } from '../test/helpers/processes.js';
import { forEachLimited, makeIssuer, makeSyntheticPems, writeLineageFiles, type SyntheticIssuer, lineageNames } from '../test/helpers/synthetic-lineages.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { cpuSeconds, haproxyWorkerPid } from './lib/proc-cpu.js';
import { bundleOf, rawRun } from './lib/raw-runtime-client.js';

/**
 * The timestamps (ms) of the daemon's text log lines that carry `message`, so far. Each call reads only the output
 * written since the one before: polled through a burst, rescanning megabytes of log would take CPU from what is measured.
 */
function lineTimes(daemon: TrackedProcess, message: string): () => number[] {
  const times: number[] = [];
  let scanned = 0;
  return () => {
    const output = daemon.output();
    const end = output.lastIndexOf('\n') + 1;
    for (const line of output.slice(scanned, end).split('\n')) {
      if (line.includes(` ${message} `) || line.endsWith(` ${message}`)) times.push(Date.parse(line.slice(0, line.indexOf(' '))));
    }
    scanned = Math.max(scanned, end);
    return times;
  };
}

/**
 * Version `version` of every lineage, written as one `certbot renew` run writes them (storage.py): `.certbot.lock`
 * held through the run, each lineage's `renewal/<name>.conf` replaced (written as `.conf.new`, renamed) before its
 * links flip. The daemon's watcher follows exactly these (certbot-watcher.ts). The keys and certificates are made
 * first: making them took longer than hotcert took to deploy them.
 */
async function renewLikeCertbot(configDir: string, issuer: SyntheticIssuer, names: readonly string[], version: number): Promise<{ writesS: number }> {
  const pems = new Map<string, Awaited<ReturnType<typeof makeSyntheticPems>>>();
  await forEachLimited(names, 16, async (name) => void pems.set(name, await makeSyntheticPems(issuer, name, version)));
  const startedMs = Date.now();
  const lock = join(configDir, '.certbot.lock');
  const renewal = join(configDir, 'renewal');
  await mkdir(renewal, { recursive: true });
  await writeFile(lock, '');
  await forEachLimited(names, 16, async (name) => {
    const conf = join(renewal, `${name}.conf`);
    await writeFile(`${conf}.new`, `# renew_before_expiry = 30 days\nversion = 2.1.0\narchive_dir = ${configDir}/archive/${name}\n`);
    await rename(`${conf}.new`, conf);
    await writeLineageFiles(configDir, name, version, pems.get(name) as Awaited<ReturnType<typeof makeSyntheticPems>>);
  });
  await unlink(lock);
  return { writesS: (Date.now() - startedMs) / 1000 };
}

async function benchmark(n: number, series: HaproxyVersion): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), `hotcert-bulk-${n}-`));
  const configDir = join(dir, 'letsencrypt');
  const names = lineageNames(n);
  let rawHaproxy: TestHaproxy | undefined;
  let hotcertHaproxy: TestHaproxy | undefined;
  let daemon: TrackedProcess | undefined;
  try {
    process.stderr.write(`N=${n}: generating lineages in Certbot's layout…\n`);
    const issuer = await makeIssuer();
    await renewLikeCertbot(configDir, issuer, names, 1);
    [rawHaproxy, hotcertHaproxy] = [await startHaproxy({ version: series }), await startHaproxy({ version: series })];
    const raw = rawHaproxy;
    const configFile = await writeHotcertConfig(dir, { letsencryptDir: configDir, haproxy: hotcertHaproxy });

    process.stderr.write(`N=${n}: start…\n`);
    await rawRun(raw, names, await Promise.all(names.map((name) => bundleOf(configDir, name, 1))), 'add');
    const spawnedMs = Date.now();
    const started = startHotcertRun(configFile);
    daemon = started;
    await waitFor(() => started.output().includes('hotcert running'), { timeoutMs: 1_800_000, intervalMs: 100, what: 'hotcert to start' });
    const runningMs = lineTimes(started, 'hotcert running: first full sync attempted, watching the source')()[0] ?? Date.now();
    const added = lineTimes(started, 'certificate added')().length;

    process.stderr.write(`N=${n}: burst of renewals…\n`);
    const haproxyPid = await haproxyWorkerPid(hotcertHaproxy);
    const [daemonBefore, haproxyBefore] = [cpuSeconds(`/proc/${started.pid}/stat`), cpuSeconds(`/proc/${haproxyPid}/stat`)];
    const deployedTimes = lineTimes(started, 'certificate deployed');
    const { writesS } = await renewLikeCertbot(configDir, issuer, names, 2);
    const writtenMs = Date.now();
    await waitFor(() => deployedTimes().length >= n, { timeoutMs: 1_800_000, intervalMs: 100, what: `${n} renewals deployed` });
    const [daemonCpu, haproxyCpu] = [cpuSeconds(`/proc/${started.pid}/stat`) - daemonBefore, cpuSeconds(`/proc/${haproxyPid}/stat`) - haproxyBefore];
    const deployed = deployedTimes();
    const first = deployed[0] as number;
    const last = deployed[n - 1] as number;
    const failed = lineTimes(started, 'deploy failed')().length;

    const rawS = await rawRun(raw, names, await Promise.all(names.map((name) => bundleOf(configDir, name, 2))), 'renew');
    const burstRate = (n - 1) / ((last - first) / 1000);
    const rawRate = n / rawS;
    return [
      `| ${hotcertHaproxy.version} | ${n} | start (adds) | ${((runningMs - spawnedMs) / 1000).toFixed(2)} s, ${added} added | | |`,
      `| ${hotcertHaproxy.version} | ${n} | burst: writes | ${writesS.toFixed(2)} s | | |`,
      `| ${hotcertHaproxy.version} | ${n} | burst: last deployed after the last write | ${((last - writtenMs) / 1000).toFixed(2)} s | | |`,
      `| ${hotcertHaproxy.version} | ${n} | burst: first → last deployed | ${((last - first) / 1000).toFixed(2)} s, ${burstRate.toFixed(0)}/s, ${failed} failed | ${Math.round((burstRate / rawRate) * 100)}% | hotcert ${daemonCpu.toFixed(2)} s, HAProxy ${haproxyCpu.toFixed(2)} s |`,
      `| ${hotcertHaproxy.version} | ${n} | raw client renewals | ${rawS.toFixed(2)} s, ${rawRate.toFixed(0)}/s | | |`,
    ];
  } finally {
    await daemon?.stop('SIGTERM', 10_000);
    await Promise.all([rawHaproxy?.stop(), hotcertHaproxy?.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((value) => value > 0);
  const series = (process.env.HOTCERT_TEST_HAPROXY ?? '2.6') as HaproxyVersion;
  const rows: string[] = [];
  for (const n of sizes.length > 0 ? sizes : [2000]) rows.push(...(await benchmark(n, series)));
  console.log(`Node ${process.version}; bundles fsynced to ${tmpdir()}`);
  console.log('| HAProxy | N | phase | time | vs raw | CPU over the burst |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
