/**
 * hotcert sync against a raw runtime API client, like against like, on real HAProxy instances (2.6 and 3.4 by
 * default, HOTCERT_TEST_HAPROXY picks others):
 * - add N new lineages: raw `new` + `set` + `commit` + `add ssl crt-list` vs `hotcert sync` (bundles and crt-list
 *   written and fsynced, every commit verified);
 * - renew N loaded lineages: raw `set` + `commit` vs `hotcert sync` after Certbot-style link flips, and between
 *   them the raw client sending hotcert's own runtime commands (its checks as HAProxy sees them, nothing else) and
 *   the raw client doing the file work too (links read, bundle written, fsynced and renamed; no checks);
 * - a no-op `hotcert sync`.
 * Every row also has what the whole machine ran meanwhile per certificate: HAProxy, the client, the kernel's work
 * for the files. On two cores shared with HAProxy, that is what bounds the rate.
 * Usage: npm run bench:sync -- [N ...]   (default: 1000 10000); HOTCERT_BENCH_RENEWALS=R renews R times, every
 * client side by side each time (the order reversed every other round), and prints the median ratios.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHaproxy, type TestHaproxy } from '../test/helpers/haproxy.js';
import { selectedHaproxyVersions, type HaproxyVersion } from '../test/helpers/haproxy-versions.js';
import { writeHotcertConfig } from '../test/helpers/hotcert-config.js';
import { rawRunWithFiles } from './lib/files-runtime-client.js';
import { machineCpuSeconds } from './lib/proc-cpu.js';
import { bundleOf, rawRun, rawRunWithHotcertCommands } from './lib/raw-runtime-client.js';
import { median } from './lib/stats.js';
import { THIS_BUILD, timedSync } from './lib/timed-sync.js';
import { forEachLimited, makeIssuer, writeSyntheticLineage, lineageNames } from '../test/helpers/synthetic-lineages.js';

interface Row {
  readonly version: string;
  readonly n: number;
  readonly phase: string;
  /** Which of the renewal rounds (HOTCERT_BENCH_RENEWALS), each every client and a sync side by side. */
  readonly round?: number;
  readonly who: 'raw client' | "raw client, hotcert's commands" | 'raw client + files' | 'hotcert';
  readonly wallS: number;
  readonly cpuS?: number;
  /** What the whole machine ran meanwhile (HAProxy, the client, the kernel's file work), in CPU seconds. */
  readonly machineS: number;
  readonly rssMb?: number;
  readonly changed: number;
}

async function hotcertSync(configFile: string, dir: string): Promise<{ wallS: number; cpuS: number; rssMb: number; summary: string }> {
  const { wallS, userS, sysS, rssMb, summary } = await timedSync(THIS_BUILD, configFile, dir);
  return { wallS, cpuS: userS + sysS, rssMb, summary };
}

/** Runs one side of a comparison, with the machine's CPU meanwhile. */
async function measured<T extends object>(run: () => Promise<T>): Promise<T & { machineS: number }> {
  const before = machineCpuSeconds();
  const result = await run();
  return { ...result, machineS: machineCpuSeconds() - before };
}

function count(summary: string, kind: string): number {
  return Number(new RegExp(`${kind}=(\\d+)`).exec(summary)?.[1] ?? NaN);
}

async function benchmark(n: number, series: HaproxyVersion, renewRounds: number): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), `hotcert-bench-${n}-`));
  const configDir = join(dir, 'letsencrypt');
  const names = lineageNames(n);
  const rows: Row[] = [];
  let rawHaproxy: TestHaproxy | undefined;
  let hotcertHaproxy: TestHaproxy | undefined;
  try {
    process.stderr.write(`N=${n}: generating lineages in Certbot's layout…\n`);
    const issuer = await makeIssuer();
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(configDir, issuer, name, 1));
    const bundles1 = await Promise.all(names.map((name) => bundleOf(configDir, name, 1)));

    [rawHaproxy, hotcertHaproxy] = [await startHaproxy({ version: series }), await startHaproxy({ version: series })];
    const version = hotcertHaproxy.version;
    const configFile = await writeHotcertConfig(dir, { letsencryptDir: configDir, haproxy: hotcertHaproxy });

    process.stderr.write(`N=${n}: add…\n`);
    const haproxy = rawHaproxy;
    rows.push({ version, n, phase: 'add', who: 'raw client', ...(await measured(async () => ({ wallS: await rawRun(haproxy, names, bundles1, 'add') }))), changed: n });
    const added = await measured(() => hotcertSync(configFile, dir));
    rows.push({ version, n, phase: 'add', who: 'hotcert', ...added, changed: count(added.summary, 'added') });

    for (let round = 0; round < renewRounds; round += 1) {
      process.stderr.write(`N=${n}: renew${renewRounds > 1 ? ` ${round + 1}/${renewRounds}` : ''}…\n`);
      await forEachLimited(names, 16, (name) => writeSyntheticLineage(configDir, issuer, name, round + 2));
      const bundles = await Promise.all(names.map((name) => bundleOf(configDir, name, round + 2)));
      const raw = async (): Promise<Row> => ({ version, n, phase: 'renew', round, who: 'raw client', ...(await measured(async () => ({ wallS: await rawRun(haproxy, names, bundles, 'renew') }))), changed: n });
      const withCommands = async (): Promise<Row> => ({
        version, n, phase: 'renew', round, who: "raw client, hotcert's commands", changed: n,
        ...(await measured(async () => ({ wallS: await rawRunWithHotcertCommands(haproxy, names, bundles) }))),
      });
      const withFiles = async (): Promise<Row> => ({ version, n, phase: 'renew', round, who: 'raw client + files', ...(await measured(() => rawRunWithFiles(haproxy, configDir, names))), changed: n });
      const hotcert = async (): Promise<Row> => {
        const renewed = await measured(() => hotcertSync(configFile, dir));
        return { version, n, phase: 'renew', round, who: 'hotcert', ...renewed, changed: count(renewed.summary, 'deployed') };
      };
      // Every other round the order is reversed: the VM's speed drifts within minutes.
      if (round % 2 === 0) rows.push(await raw(), await withCommands(), await withFiles(), await hotcert());
      else rows.push(await hotcert(), await withFiles(), await withCommands(), await raw());
    }

    process.stderr.write(`N=${n}: no-op…\n`);
    const noop = await measured(() => hotcertSync(configFile, dir));
    rows.push({ version, n, phase: 'no-op', who: 'hotcert', ...noop, changed: count(noop.summary, 'deployed') + count(noop.summary, 'added') });
    return rows;
  } finally {
    await Promise.all([rawHaproxy?.stop(), hotcertHaproxy?.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

function storageOf(path: string): string {
  const line = execFileSync('df', ['-T', path], { encoding: 'utf8' }).trim().split('\n')[1] ?? '';
  const [device, type] = line.split(/\s+/);
  return `${type} on ${device}`;
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((value) => value > 0);
  const renewRounds = Math.max(1, Number(process.env.HOTCERT_BENCH_RENEWALS ?? 1));
  const rows: Row[] = [];
  // The oldest and the newest LTS series side by side, unless HOTCERT_TEST_HAPROXY picks others.
  const versions = process.env.HOTCERT_TEST_HAPROXY ? selectedHaproxyVersions() : (['2.6', '3.4'] as HaproxyVersion[]);
  for (const series of versions) for (const n of sizes.length > 0 ? sizes : [1000, 10000]) rows.push(...(await benchmark(n, series, renewRounds)));
  // Each hotcert row against the raw run beside it: same HAProxy series, size, phase and round.
  const ratioOf = (row: Row): number | undefined => {
    const raw = rows.find((other) => other.version === row.version && other.n === row.n && other.phase === row.phase && other.round === row.round && other.who === 'raw client');
    return row.who !== 'raw client' && raw ? raw.wallS / row.wallS : undefined;
  };
  console.log(`hotcert ${JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version}, Node ${process.version}`);
  console.log(`bundles fsynced to: ${storageOf(tmpdir())} (${tmpdir()}); ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores`);
  console.log('');
  console.log('| HAProxy | N | phase | who | wall s | certs/s | vs raw | CPU s | machine CPU ms/cert | peak RSS MB | changed |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const rate = row.n / row.wallS;
    const ratio = ratioOf(row);
    console.log(
      `| ${row.version} | ${row.n} | ${row.phase} | ${row.who} | ${row.wallS.toFixed(2)} | ${row.phase === 'no-op' ? '' : rate.toFixed(0)} | ${ratio === undefined ? '' : `${Math.round(ratio * 100)}%`} | ${row.cpuS?.toFixed(2) ?? ''} | ${((row.machineS / row.n) * 1000).toFixed(2)} | ${row.rssMb?.toFixed(0) ?? ''} | ${row.changed} |`,
    );
  }
  if (renewRounds > 1) {
    console.log('');
    for (const version of new Set(rows.map((row) => row.version))) {
      for (const n of new Set(rows.map((row) => row.n))) {
        for (const who of ['hotcert', "raw client, hotcert's commands", 'raw client + files'] as const) {
          const ratios = rows.filter((row) => row.version === version && row.n === n && row.phase === 'renew' && row.who === who).flatMap((row) => ratioOf(row) ?? []);
          if (ratios.length > 0) console.log(`${version}, N=${n}: ${who}'s renewals at ${Math.round(median(ratios) * 100)}% of the raw client (median of ${ratios.length} pairs; ${ratios.map((ratio) => `${Math.round(ratio * 100)}%`).join(' ')})`);
        }
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
