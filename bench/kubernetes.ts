/**
 * hotcert as the sidecar of an HAProxy pod, reading N cert-manager Secrets from one projected volume written the
 * way kubelet writes it (test/helpers/atomic-writer.ts): what the sidecar costs per pod (ready time, RSS, idle CPU),
 * and the latency from kubelet's `..data` swap to the rotated certificate in a TLS handshake (kubelet's own delay
 * before the swap, tens of seconds after the Secret changed, is not hotcert's).
 * Usage: npm run bench:kubernetes -- [N ...]   (default: 100 1000; HOTCERT_BENCH_IDLE_S idle window, default 60;
 * HOTCERT_BENCH_ROTATIONS, default 30; HOTCERT_TEST_HAPROXY picks the series, default 2.6)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../test/helpers/atomic-writer.js';
import { startHaproxy, type TestHaproxy } from '../test/helpers/haproxy.js';
import { runHotcert, startHotcertRun } from '../test/helpers/hotcert-cli.js';
import { makeIssuer, makeSyntheticPems } from '../test/helpers/synthetic-lineages.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { probeServedCertificate } from '../test/helpers/tls-probe.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { benchHaproxySeries } from './lib/bench-haproxy.js';
import { percentile } from './lib/stats.js';

const TICKS_PER_SECOND = 100;
const SETTLE_S = 30;

async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

async function rssMb(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

async function measure(n: number, idleSeconds: number, rotations: number) {
  const temp = await makeTempDir(`bench-kubernetes-${n}`);
  let haproxy: TestHaproxy | undefined;
  try {
    const issuer = await makeIssuer();
    const names = Array.from({ length: n }, (_, index) => `secret${String(index).padStart(4, '0')}`);
    const secrets = new Map<string, { crt: string; key: string }>();
    for (const name of names) {
      const pems = await makeSyntheticPems(issuer, name);
      secrets.set(name, { crt: pems.cert + pems.chain, key: pems.privkey });
    }
    const payload = (): Record<string, string> => Object.fromEntries([...secrets].flatMap(([name, pair]) => [[`${name}/tls.crt`, pair.crt], [`${name}/tls.key`, pair.key]]));
    const projected = join(temp.path, 'projected');
    await writeAtomically(projected, payload());
    haproxy = await startHaproxy({ version: benchHaproxySeries(), strictSni: true });
    const config = join(temp.path, 'hotcert.yaml');
    await writeFile(config, [`kubernetes: { secretDirs: [${projected}] }`, `bundles: { dir: ${haproxy.bundlesDir} }`, `crtList: { file: ${haproxy.crtListPath} }`, `state: { file: ${join(temp.path, 'state.json')} }`, 'targets:', `  - { name: pod, runtime: "unix:${haproxy.socketPath}" }`, ''].join('\n'));
    process.stderr.write(`N=${n}: adding ${n} Secrets with hotcert sync…\n`);
    const added = await runHotcert(['sync', '--config', config]);
    if (added.code !== 0) throw new Error(`sync failed: ${added.stderr.slice(-500)}`);

    const startedAt = Date.now();
    const daemon = startHotcertRun(config);
    await waitFor(() => daemon.output().includes('hotcert running'), { timeoutMs: 300_000, intervalMs: 10, what: 'hotcert to be ready' });
    const readyS = (Date.now() - startedAt) / 1000;
    process.stderr.write(`N=${n}: ready in ${readyS.toFixed(2)} s; ${SETTLE_S} s to settle, then ${idleSeconds} s idle…\n`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
    const before = await cpuSeconds(daemon.pid);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idleCpu = (await cpuSeconds(daemon.pid)) - before;
    const idle = await rssMb(daemon.pid);

    process.stderr.write(`N=${n}: ${rotations} rotations, each a rewrite of the whole projected volume…\n`);
    const latencies: number[] = [];
    for (let round = 0; round < rotations; round += 1) {
      const name = names[(round * 7919) % names.length] as string;
      const pems = await makeSyntheticPems(issuer, name, round + 2);
      secrets.set(name, { crt: pems.cert + pems.chain, key: pems.privkey });
      let swappedAt = 0;
      await writeAtomically(projected, payload(), {
        onStep: (step) => {
          if (step === 'data-swapped') swappedAt = performance.now();
        },
      });
      await waitFor(async () => (await probeServedCertificate(haproxy!.port, `${name}.bench`, 2000)).serial.replace(/^0+/, '') === pems.serial.replace(/^0+/, ''), { timeoutMs: 30_000, intervalMs: 2, what: `${name} rotated` });
      latencies.push(performance.now() - swappedAt);
    }
    await daemon.stop('SIGTERM');
    return { n, series: haproxy.version, readyS, rssIdle: idle.rss, peak: idle.peak, cpuPerHour: (idleCpu / idleSeconds) * 3600, p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.round(Math.max(...latencies)), rotations };
  } finally {
    await haproxy?.stop();
    await temp.remove();
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((value) => value > 0);
  const idleSeconds = Number(process.env.HOTCERT_BENCH_IDLE_S ?? 60);
  const rotations = Number(process.env.HOTCERT_BENCH_ROTATIONS ?? 30);
  const rows = [];
  for (const n of sizes.length > 0 ? sizes : [100, 1000]) rows.push(await measure(n, idleSeconds, rotations));
  console.log(`hotcert as an HAProxy pod's sidecar, Secrets in one projected volume, HAProxy ${rows[0]?.series ?? ''}, Node ${process.versions.node}, 2 cores`);
  console.log('');
  console.log('| Secrets | ready s | RSS idle MB | peak RSS MB | idle CPU-s per hour | ..data swap → served p50 ms | p95 ms | max ms | rotations |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(`| ${row.n} | ${row.readyS.toFixed(2)} | ${row.rssIdle.toFixed(0)} | ${row.peak.toFixed(0)} | ${row.cpuPerHour.toFixed(2)} | ${row.p50} | ${row.p95} | ${row.max} | ${row.rotations} |`);
  }
  console.log('');
  console.log(`Idle window ${idleSeconds} s after ${SETTLE_S} s to settle. Target: swap → served p95 under 500 ms.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
