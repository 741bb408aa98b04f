/**
 * hotcert against HAProxy containers, per way of reaching their runtime API, in one run, so a user can see what
 * exec costs against a shared socket:
 * - renewal → served: one `hotcert run` with four targets, one container each (shared socket, container TCP, exec
 *   of socat, exec of perl); for each real certbot renewal, the time from Certbot's deploy hook (its last link flip)
 *   to the new serial in a TLS handshake with each container. The four targets deploy concurrently.
 * - bulk: `hotcert sync` adding N synthetic lineages to a fresh container per transport: certificates per second.
 * Usage: npm run bench:docker -- [renewals=30] [bulk=300] [bulkExec=60]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCertbot } from '../test/helpers/certbot.js';
import { containerTargetLines, docker, makeSharedHotcertDir, startHaproxyContainer, TLS_PORT, writeContainerTargetsConfig, type HaproxyContainer } from '../test/helpers/docker.js';
import { runHotcert, startHotcertRun } from '../test/helpers/hotcert-cli.js';
import { startPebble } from '../test/helpers/pebble.js';
import { forEachLimited, makeIssuer, writeSyntheticLineage, lineageNames } from '../test/helpers/synthetic-lineages.js';
import { makeTempDir, type TempDir } from '../test/helpers/temp-dir.js';
import { probeServedCertificate } from '../test/helpers/tls-probe.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { percentile } from './lib/stats.js';

// On the HAProxy 2.6 images, the series with both exec flavors (the 3.4 image, like the official one, has no socat).
const HAPROXY_VERSION = '2.6';
const TRANSPORTS = [
  { role: 'shared', client: 'socat', runtime: (container: HaproxyContainer) => `unix:${container.socketPath}`, what: 'unix socket on a shared directory' },
  { role: 'tcp', client: 'socat', runtime: () => 'container-tcp:9999', what: 'container TCP (address via Docker API)' },
  { role: 'socat', client: 'socat', runtime: () => 'exec:/var/run/haproxy/admin.sock', what: 'docker exec of socat' },
  { role: 'perl', client: 'perl', runtime: () => 'exec:/var/run/haproxy/admin.sock', what: 'docker exec of perl (no socat)' },
] as const;

const prefix = `hotcert-b${process.pid}`;

function targetLines(name: string, container: HaproxyContainer, runtime: string): string[] {
  return containerTargetLines(name, container.name, runtime);
}

async function served(container: HaproxyContainer, host: string): Promise<string | undefined> {
  return probeServedCertificate(TLS_PORT, host, 2000, await container.address()).then(
    (certificate) => certificate.serial,
    () => undefined,
  );
}

async function main(): Promise<void> {
  const [renewals = 30, bulk = 300, bulkExec = 60] = process.argv.slice(2).map(Number);
  const temp = await makeTempDir('bench-docker');
  const pebble = await startPebble(temp.path);
  const certbot = new TestCertbot(pebble, temp.path);
  const containers: HaproxyContainer[] = [];
  const dirs: TempDir[] = [];
  try {
    const shared = await makeSharedHotcertDir(temp.path);
    const byRole = new Map<string, HaproxyContainer>();
    for (const transport of TRANSPORTS) {
      const container = await startHaproxyContainer({ name: `${prefix}-${transport.role}`, version: HAPROXY_VERSION, client: transport.client, hotcertDir: shared.dir });
      containers.push(container);
      byRole.set(transport.role, container);
    }
    await certbot.issue({ name: 'lat', domains: ['lat.test'] });
    const config = join(temp.path, 'run.yaml');
    await writeContainerTargetsConfig(config, certbot.configDir, shared, TRANSPORTS.flatMap((transport) => targetLines(transport.role, byRole.get(transport.role) as HaproxyContainer, transport.runtime(byRole.get(transport.role) as HaproxyContainer))));
    const daemon = startHotcertRun(config);
    await waitFor(() => daemon.output().includes('hotcert running'), { timeoutMs: 60_000, what: 'hotcert to start' });

    const hookTimes = join(temp.path, 'hook-times');
    const latency = new Map<string, number[]>(TRANSPORTS.map((transport) => [transport.role, []]));
    for (let round = 0; round < renewals; round += 1) {
      const old = await served(byRole.get('shared') as HaproxyContainer, 'lat.test');
      const seen = TRANSPORTS.map((transport) =>
        waitFor(async () => {
          const serial = await served(byRole.get(transport.role) as HaproxyContainer, 'lat.test');
          return serial !== undefined && serial !== old ? Date.now() : undefined;
        }, { timeoutMs: 60_000, intervalMs: 2, what: `${transport.role} to serve the renewal` }),
      );
      await certbot.run(['renew', '--cert-name', 'lat', '--force-renewal', '--no-random-sleep-on-renew', '--deploy-hook', `date +%s.%N >> ${hookTimes}`]);
      const lines = (await readFile(hookTimes, 'utf8')).trim().split('\n');
      const hookAt = Math.round(Number(lines[lines.length - 1]) * 1000);
      const times = await Promise.all(seen);
      TRANSPORTS.forEach((transport, index) => latency.get(transport.role)?.push((times[index] as number) - hookAt));
      process.stderr.write(`  renewal ${round + 1}/${renewals}: ${TRANSPORTS.map((transport, index) => `${transport.role} ${(times[index] as number) - hookAt} ms`).join(', ')}\n`);
    }
    await daemon.stop('SIGTERM');

    process.stderr.write(`writing ${bulk} synthetic lineages…\n`);
    const issuer = await makeIssuer();
    const letsencrypt = join(temp.path, 'bulk-letsencrypt');
    const names = lineageNames(bulk, 'bulk');
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(letsencrypt, issuer, name, 1));
    const rates = new Map<string, { n: number; seconds: number }>();
    for (const transport of TRANSPORTS) {
      const n = transport.role === 'socat' || transport.role === 'perl' ? Math.min(bulkExec, bulk) : bulk;
      const dir = await makeTempDir(`bench-docker-${transport.role}`);
      dirs.push(dir);
      const own = await makeSharedHotcertDir(dir.path);
      const container = await startHaproxyContainer({ name: `${prefix}-bulk-${transport.role}`, version: HAPROXY_VERSION, client: transport.client, hotcertDir: own.dir });
      containers.push(container);
      const subset = join(dir.path, 'letsencrypt');
      await forEachLimited(names.slice(0, n), 16, (name) => writeSyntheticLineage(subset, issuer, name, 1));
      const file = join(dir.path, 'bulk.yaml');
      await writeContainerTargetsConfig(file, subset, own, targetLines(transport.role, container, transport.runtime(container)));
      const started = Date.now();
      const result = await runHotcert(['sync', '--config', file], { HOTCERT_LOG_LEVEL: 'warn' });
      const seconds = (Date.now() - started) / 1000;
      if (result.code !== 0) throw new Error(`bulk sync over ${transport.role} failed (${result.code}):\n${result.stderr.slice(-2000)}`);
      rates.set(transport.role, { n, seconds });
      process.stderr.write(`  bulk ${transport.role}: ${n} added in ${seconds.toFixed(1)} s\n`);
    }

    console.log(`hotcert and HAProxy 2.6 in containers, per transport; ${renewals} real certbot 2.1 renewals (pebble); 2 cores`);
    console.log('');
    console.log('| transport | renewal → served p50 ms | p95 ms | max ms | bulk add: certificates | seconds | certificates/s |');
    console.log('|---|---|---|---|---|---|---|');
    for (const transport of TRANSPORTS) {
      const values = latency.get(transport.role) as number[];
      const rate = rates.get(transport.role) as { n: number; seconds: number };
      console.log(`| ${transport.what} | ${percentile(values, 50)} | ${percentile(values, 95)} | ${Math.max(...values)} | ${rate.n} | ${rate.seconds.toFixed(1)} | ${(rate.n / rate.seconds).toFixed(1)} |`);
    }
  } finally {
    for (const container of containers) await container.remove();
    for (const dir of dirs) await dir.remove();
    await pebble.stop();
    await temp.remove();
    const images = (await docker('images', '-q', '--filter', 'label=hotcert.test=1')).split('\n').filter(Boolean);
    if (images.length > 0) await docker('rmi', '-f', ...new Set(images));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
