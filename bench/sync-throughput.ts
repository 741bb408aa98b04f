/**
 * hotcert sync against a raw runtime API client, like against like, on real HAProxy instances (2.6 and 3.4 by
 * default, HOTCERT_TEST_HAPROXY picks others):
 * - add N new lineages: raw `new` + `set` + `commit` + `add ssl crt-list` vs `hotcert sync` (bundles and crt-list
 *   written and fsynced, every commit verified);
 * - renew N loaded lineages: raw `set` + `commit` vs `hotcert sync` after Certbot-style link flips;
 * - a no-op `hotcert sync`.
 * Usage: npm run bench:sync -- [N ...]   (default: 1000 10000)
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHaproxy, type TestHaproxy } from '../test/helpers/haproxy.js';
import { selectedHaproxyVersions, type HaproxyVersion } from '../test/helpers/haproxy-versions.js';
import { writeHotcertConfig } from '../test/helpers/hotcert-config.js';
import { HOTCERT_BIN } from '../test/helpers/hotcert-cli.js';
import { runCommand } from '../test/helpers/processes.js';
import { bundleOf, rawRun } from './lib/raw-runtime-client.js';
import { forEachLimited, makeIssuer, writeSyntheticLineage } from '../test/helpers/synthetic-lineages.js';

interface Row {
  readonly version: string;
  readonly n: number;
  readonly phase: string;
  readonly who: 'raw client' | 'hotcert';
  readonly wallS: number;
  readonly cpuS?: number;
  readonly rssMb?: number;
  readonly changed: number;
}

async function hotcertSync(configFile: string, dir: string): Promise<{ wallS: number; cpuS: number; rssMb: number; summary: string }> {
  const timeFile = join(dir, 'time.txt');
  const result = await runCommand('/usr/bin/time', ['-o', timeFile, '-f', '%e %U %S %M', process.execPath, HOTCERT_BIN, 'sync', '--config', configFile], {
    env: { ...process.env, HOTCERT_LOG_FORMAT: 'text' },
    timeoutMs: 1_800_000,
  });
  if (result.code !== 0) throw new Error(`hotcert sync exited ${result.code}: ${result.stderr.split('\n').slice(-5).join('\n')}`);
  const [wall, user, sys, rssKb] = (await readFile(timeFile, 'utf8')).trim().split(/\s+/).map(Number) as [number, number, number, number];
  const summary = result.stderr.split('\n').find((line) => line.includes('sync finished')) ?? '';
  return { wallS: wall, cpuS: user + sys, rssMb: rssKb / 1024, summary };
}

function count(summary: string, kind: string): number {
  return Number(new RegExp(`${kind}=(\\d+)`).exec(summary)?.[1] ?? NaN);
}

async function benchmark(n: number, series: HaproxyVersion): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), `hotcert-bench-${n}-`));
  const configDir = join(dir, 'letsencrypt');
  const names = Array.from({ length: n }, (_, index) => `lineage${String(index).padStart(5, '0')}`);
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
    rows.push({ version, n, phase: 'add', who: 'raw client', wallS: await rawRun(rawHaproxy, names, bundles1, 'add'), changed: n });
    const added = await hotcertSync(configFile, dir);
    rows.push({ version, n, phase: 'add', who: 'hotcert', ...added, changed: count(added.summary, 'added') });

    process.stderr.write(`N=${n}: renew…\n`);
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(configDir, issuer, name, 2));
    const bundles2 = await Promise.all(names.map((name) => bundleOf(configDir, name, 2)));
    rows.push({ version, n, phase: 'renew', who: 'raw client', wallS: await rawRun(rawHaproxy, names, bundles2, 'renew'), changed: n });
    const renewed = await hotcertSync(configFile, dir);
    rows.push({ version, n, phase: 'renew', who: 'hotcert', ...renewed, changed: count(renewed.summary, 'deployed') });

    process.stderr.write(`N=${n}: no-op…\n`);
    const noop = await hotcertSync(configFile, dir);
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
  const rows: Row[] = [];
  // The oldest and the newest LTS series side by side, unless HOTCERT_TEST_HAPROXY picks others.
  const versions = process.env.HOTCERT_TEST_HAPROXY ? selectedHaproxyVersions() : (['2.6', '3.4'] as HaproxyVersion[]);
  for (const series of versions) for (const n of sizes.length > 0 ? sizes : [1000, 10000]) rows.push(...(await benchmark(n, series)));
  const rawRate = (version: string, n: number, phase: string): number | undefined => {
    const raw = rows.find((row) => row.version === version && row.n === n && row.phase === phase && row.who === 'raw client');
    return raw ? n / raw.wallS : undefined;
  };
  console.log(`hotcert ${JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version}, Node ${process.version}`);
  console.log(`bundles fsynced to: ${storageOf(tmpdir())} (${tmpdir()}); ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores`);
  console.log('');
  console.log('| HAProxy | N | phase | who | wall s | certs/s | vs raw | CPU s | peak RSS MB | changed |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const rate = row.n / row.wallS;
    const raw = rawRate(row.version, row.n, row.phase);
    const ratio = row.who === 'hotcert' && raw ? `${Math.round((rate / raw) * 100)}%` : '';
    console.log(
      `| ${row.version} | ${row.n} | ${row.phase} | ${row.who} | ${row.wallS.toFixed(2)} | ${row.phase === 'no-op' ? '' : rate.toFixed(0)} | ${ratio} | ${row.cpuS?.toFixed(2) ?? ''} | ${row.rssMb?.toFixed(0) ?? ''} | ${row.changed} |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
