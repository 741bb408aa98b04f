/**
 * Handshakes while hotcert swaps certificates: a bounded loopback TLS load (a fixed rate of handshakes, each with the
 * SNI of a random lineage, each leaf checked against the name) runs during `hotcert sync` swapping 1000 renewed
 * lineages, during a control block of the same length with no change, and during the same number of swaps by a raw
 * client (set + commit only) paced over the same time. Counts failed and wrong-certificate handshakes and compares
 * handshake latency.
 * Usage: npm run bench:swap -- [lineages=1000] [handshakes per second=200]   (HOTCERT_TEST_HAPROXY picks the series, default 2.6)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { startHaproxy, type TestHaproxy } from '../test/helpers/haproxy.js';
import { benchHaproxySeries } from './lib/bench-haproxy.js';
import { writeHotcertConfig } from '../test/helpers/hotcert-config.js';
import { HOTCERT_BIN, runHotcert } from '../test/helpers/hotcert-cli.js';
import { runCommand } from '../test/helpers/processes.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { RawRuntimeClient } from './lib/raw-runtime-client.js';
import { percentile } from './lib/stats.js';
import { forEachLimited, makeIssuer, writeSyntheticLineage, lineageNames } from '../test/helpers/synthetic-lineages.js';

interface LoadResult {
  readonly handshakes: number;
  readonly failed: number;
  readonly wrong: number;
  readonly latenciesMs: number[];
  readonly seconds: number;
}

function handshake(port: number, name: string): Promise<{ ok: boolean; wrong: boolean; ms: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: name, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, wrong: false, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    }, 5000);
    socket.once('secureConnect', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const names = socket.getPeerCertificate().subjectaltname ?? '';
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true, wrong: !names.split(', ').includes(`DNS:${name}`), ms });
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve({ ok: false, wrong: false, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    });
  });
}

/** Starts `rate` handshakes per second (at most 64 at once) until `until` resolves. */
async function load(haproxy: TestHaproxy, names: readonly string[], rate: number, until: Promise<unknown>): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let failed = 0;
  let wrong = 0;
  let inFlight = 0;
  let done = false;
  const pending = new Set<Promise<void>>();
  const started = Date.now();
  let issued = 0;
  void until.then(() => (done = true));
  while (!done) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - issued;
    for (let index = 0; index < due && inFlight < 64; index += 1) {
      issued += 1;
      inFlight += 1;
      const name = `${names[Math.floor(Math.random() * names.length)]}.bench`;
      const job = handshake(haproxy.port, name).then((result) => {
        inFlight -= 1;
        if (!result.ok) failed += 1;
        else if (result.wrong) wrong += 1;
        else latenciesMs.push(result.ms);
      });
      pending.add(job);
      void job.finally(() => pending.delete(job));
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(pending);
  return { handshakes: issued, failed, wrong, latenciesMs, seconds: (Date.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const [count = 1000, rate = 200] = process.argv.slice(2).map(Number);
  const temp = await makeTempDir('bench-swap');
  let haproxy: TestHaproxy | undefined;
  try {
    const letsencrypt = join(temp.path, 'letsencrypt');
    const issuer = await makeIssuer();
    const names = lineageNames(count);
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(letsencrypt, issuer, name, 1));
    haproxy = await startHaproxy({ version: benchHaproxySeries() });
    const config = await writeHotcertConfig(temp.path, { letsencryptDir: letsencrypt, haproxy });
    if ((await runHotcert(['sync', '--config', config])).code !== 0) throw new Error('the first sync failed');
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(letsencrypt, issuer, name, 2));

    process.stderr.write(`swapping ${count} certificates under ${rate} handshakes/s…\n`);
    let syncSummary = '';
    // HOTCERT_BENCH_NICE: run hotcert at that nice level, as a unit's Nice= would; HOTCERT_BENCH_SCHED=batch under
    // that scheduling policy, as CPUSchedulingPolicy= would.
    const nice = process.env.HOTCERT_BENCH_NICE;
    const policy = process.env.HOTCERT_BENCH_SCHED;
    const command = [...(policy ? ['chrt', `--${policy}`, '0'] : []), ...(nice ? ['nice', '-n', nice] : []), process.execPath];
    const swapping = runCommand(command[0] as string, [...command.slice(1), HOTCERT_BIN, 'sync', '--config', config], { env: { ...process.env, HOTCERT_LOG_FORMAT: 'text' }, timeoutMs: 600_000 }).then((result) => {
      syncSummary = result.stderr.split('\n').find((line) => line.includes('sync finished')) ?? '';
    });
    const swap = await load(haproxy, names, rate, swapping);
    process.stderr.write(`control block of ${swap.seconds.toFixed(1)} s, no change…\n`);
    const control = await load(haproxy, names, rate, new Promise((resolve) => setTimeout(resolve, swap.seconds * 1000)));
    // The same swaps by a raw client (set + commit only, one prompt-mode connection), paced over the same time as
    // hotcert's: what HAProxy's commits alone cost the handshakes.
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(letsencrypt, issuer, name, 3));
    const bundles3 = await Promise.all(names.map(async (name) => (await readFile(join(letsencrypt, 'archive', name, 'fullchain3.pem'), 'utf8')) + (await readFile(join(letsencrypt, 'archive', name, 'privkey3.pem'), 'utf8'))));
    const rawClient = await RawRuntimeClient.open(haproxy.socketPath);
    const target = haproxy;
    const rawSwapping = (async () => {
      const started = Date.now();
      for (const [index, name] of names.entries()) {
        const path = `${target.bundlesDir}/${name}.pem`;
        await rawClient.expect(`set ssl cert ${path}`, /Transaction created/, bundles3[index]);
        await rawClient.expect(`commit ssl cert ${path}`, /Success!/);
        const behind = started + ((index + 1) / names.length) * swap.seconds * 1000 - Date.now();
        if (behind > 0) await new Promise((resolve) => setTimeout(resolve, behind));
      }
      rawClient.close();
    })();
    const raw = await load(haproxy, names, rate, rawSwapping);

    const row = (what: string, result: LoadResult) =>
      `| ${what} | ${result.seconds.toFixed(1)} | ${result.handshakes} | ${result.failed} | ${result.wrong} | ${percentile(result.latenciesMs, 50)} | ${percentile(result.latenciesMs, 99)} | ${Math.round(Math.max(...result.latenciesMs))} |`;
    console.log(`${count} certificate swaps by hotcert sync${nice ? ` (nice ${nice})` : ''}${policy ? ` (SCHED_${policy.toUpperCase()})` : ''} under ${rate} TLS handshakes/s (loopback, random SNI among the ${count} names), HAProxy ${haproxy.version}, 2 cores`);
    console.log(`sync: ${syncSummary.replace(/^.*sync finished: /, '')}`);
    console.log('');
    console.log('| block | s | handshakes | failed | wrong certificate | p50 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|---|---|');
    console.log(row('during the swaps', swap));
    console.log(row('control, no change', control));
    console.log(row('raw client set + commit, same pace', raw));
    const p99Ratio = percentile(swap.latenciesMs, 99) / percentile(control.latenciesMs, 99);
    const maxRatio = Math.max(...swap.latenciesMs) / Math.max(...control.latenciesMs);
    console.log('');
    console.log(`p99 ratio ${p99Ratio.toFixed(2)}, max ratio ${maxRatio.toFixed(2)} (target: zero failed or wrong, both ratios ≤ 1.2)`);
  } finally {
    await haproxy?.stop();
    await temp.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
