/**
 * hotcert run latency over real certbot renewals (pebble), with 1000 other certificates loaded:
 * - end to end: Certbot's last link flip, clocked by a --deploy-hook that records the time (Certbot runs deploy hooks
 *   right after it has flipped the links and removed previous_*), → the new serial in a TLS handshake, polled every
 *   2 ms; hotcert with its default settings;
 * - engine: hotcert's own time for the job (lineage read consistent from disk → committed and verified), from its log;
 * - beside them, the way people do it today: a deploy hook that writes the bundle and reloads HAProxy (SIGUSR2 to the
 *   master), on an HAProxy with the same 1000 certificates loaded.
 * Usage: npm run bench:latency -- [renewals=30] [reloadRenewals=10]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHaproxy, type TestHaproxy } from '../test/helpers/haproxy.js';
import { startHotcertRun } from '../test/helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../test/helpers/hotcert-config.js';
import { startStack } from '../test/helpers/stack.js';
import { probeServedCertificate } from '../test/helpers/tls-probe.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { forEachLimited, makeIssuer, writeSyntheticLineage } from '../test/helpers/synthetic-lineages.js';
import { percentile } from './lib/stats.js';

const LOADED = 1000;

async function servedSerial(haproxy: TestHaproxy, host: string): Promise<string> {
  return (await probeServedCertificate(haproxy.port, host)).serial;
}

/** Polls until `host` serves another serial than `old`; returns the time it was first seen (ms since epoch). */
async function seenChange(haproxy: TestHaproxy, host: string, old: string): Promise<number> {
  return waitFor(async () => ((await servedSerial(haproxy, host)) !== old ? Date.now() : undefined), { timeoutMs: 60_000, intervalMs: 2, what: `${host} to change` });
}

async function lastHookTime(file: string): Promise<number> {
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  return Math.round(Number(lines[lines.length - 1]) * 1000);
}

async function main(): Promise<void> {
  const [renewals = 30, reloadRenewals = 10] = process.argv.slice(2).map(Number);
  const stack = await startStack('bench-latency');
  const { certbot, haproxy, temp } = stack;
  let reloadHaproxy: TestHaproxy | undefined;
  const daemonOutput: string[] = [];
  try {
    process.stderr.write(`issuing the measured lineage and ${LOADED} synthetic ones…\n`);
    await certbot.issue({ name: 'lat', domains: ['lat.test'] });
    const issuer = await makeIssuer();
    const names = Array.from({ length: LOADED }, (_, index) => `load${String(index).padStart(4, '0')}`);
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(certbot.configDir, issuer, name, 1));

    const config = await writeHotcertConfig(temp.path, {
      letsencryptDir: certbot.configDir,
      haproxy,
      extraLines: [`state: { file: ${join(temp.path, 'state.json')} }`],
    });
    const daemon = startHotcertRun(config);
    await waitFor(() => daemon.output().includes('hotcert running'), { timeoutMs: 120_000, what: 'hotcert to start' });

    const hookTimes = join(temp.path, 'hook-times');
    const e2e: number[] = [];
    const engine: number[] = [];
    for (let round = 0; round < renewals; round += 1) {
      const old = await servedSerial(haproxy, 'lat.test');
      const logAt = daemon.output().length;
      const seen = seenChange(haproxy, 'lat.test', old);
      await certbot.run(['renew', '--cert-name', 'lat', '--force-renewal', '--no-random-sleep-on-renew', '--deploy-hook', `date +%s.%N >> ${hookTimes}`]);
      const servedAt = await seen;
      e2e.push(servedAt - (await lastHookTime(hookTimes)));
      await waitFor(() => /certificate deployed lineage=lat .*duration_ms=(\d+)/.exec(daemon.output().slice(logAt)), { timeoutMs: 10_000, what: 'the deploy log line' });
      engine.push(Number(/certificate deployed lineage=lat .*duration_ms=(\d+)/.exec(daemon.output().slice(logAt))?.[1]));
      process.stderr.write(`  renewal ${round + 1}/${renewals}: end to end ${e2e[e2e.length - 1]} ms, engine ${engine[engine.length - 1]} ms\n`);
    }
    await daemon.stop('SIGTERM');
    daemonOutput.push(daemon.output());

    process.stderr.write(`reload way: starting an HAProxy with the same ${LOADED + 1} certificates…\n`);
    const bundles = await Promise.all(
      ['lat', ...names].map(async (name) => ({
        name,
        text: (await readFile(join(certbot.liveDir, name, 'fullchain.pem'), 'utf8')) + (await readFile(join(certbot.liveDir, name, 'privkey.pem'), 'utf8')),
      })),
    );
    reloadHaproxy = await startHaproxy({
      beforeStart: async ({ bundlesDir, crtListPath }) => {
        for (const bundle of bundles) await writeFile(join(bundlesDir, `${bundle.name}.pem`), bundle.text, { mode: 0o600 });
        await writeFile(crtListPath, `${await readFile(crtListPath, 'utf8')}${bundles.map((bundle) => `${bundlesDir}/${bundle.name}.pem`).join('\n')}\n`);
      },
    });
    const hook = join(temp.path, 'reload-hook.sh');
    await writeFile(
      hook,
      [
        '#!/bin/sh',
        `date +%s.%N >> ${hookTimes}`,
        `cat "$RENEWED_LINEAGE/fullchain.pem" "$RENEWED_LINEAGE/privkey.pem" > ${reloadHaproxy.bundlesDir}/lat.pem`,
        `kill -USR2 ${reloadHaproxy.process.pid}`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const reload: number[] = [];
    for (let round = 0; round < reloadRenewals; round += 1) {
      const old = await servedSerial(reloadHaproxy, 'lat.test');
      const seen = seenChange(reloadHaproxy, 'lat.test', old);
      await certbot.run(['renew', '--cert-name', 'lat', '--force-renewal', '--no-random-sleep-on-renew', '--deploy-hook', hook]);
      reload.push((await seen) - (await lastHookTime(hookTimes)));
      process.stderr.write(`  reload renewal ${round + 1}/${reloadRenewals}: ${reload[reload.length - 1]} ms\n`);
    }

    const row = (what: string, values: number[], target: string) =>
      `| ${what} | ${values.length} | ${percentile(values, 50)} | ${percentile(values, 95)} | ${Math.max(...values)} | ${target} |`;
    console.log(`hotcert run latency, real certbot 2.1 renewals against pebble, ${LOADED} other certificates loaded, haproxy 2.6, 2 cores`);
    console.log('');
    console.log('| measure | renewals | p50 ms | p95 ms | max ms | target |');
    console.log('|---|---|---|---|---|---|');
    console.log(row('engine: lineage read consistent → committed and verified', engine, 'p95 ≤ 30 ms'));
    console.log(row('end to end, defaults: last link flip (deploy hook) → new serial in a TLS handshake', e2e, 'p95 ≤ 500 ms'));
    console.log(row(`deploy hook + reload, ${LOADED + 1} certificates loaded: hook → new serial served`, reload, '(the way it is done today)'));
  } finally {
    await reloadHaproxy?.stop();
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
