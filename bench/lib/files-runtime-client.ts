import { closeSync, fsync, openSync, readFileSync, realpathSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHaproxy } from '../../test/helpers/haproxy.js';
import { RawRuntimeClient } from './raw-runtime-client.js';

const LINKS = ['cert', 'chain', 'fullchain', 'privkey'] as const;

// As many certificates ahead of the commits as `hotcert sync` keeps in flight: an fsync that takes longer than a
// commit (a slow disk) is waited for by none of them.
const CERTIFICATES_AHEAD = 16;

/**
 * The raw client plus the file work no deploy that survives a restart can skip, done the cheapest way Node allows:
 * the four live links resolved and read, the bundle written beside its final name, fsynced in libuv's pool and
 * renamed over it, for up to 16 certificates ahead while HAProxy commits. No check of any kind: the floor under what
 * a Node client that keeps the files in step can reach, between the raw client and `hotcert sync`.
 * @returns its wall time and this process's CPU (user + system) in seconds for N renewals.
 */
export async function rawRunWithFiles(haproxy: TestHaproxy, configDir: string, names: readonly string[]): Promise<{ wallS: number; cpuS: number }> {
  const client = await RawRuntimeClient.open(haproxy.socketPath);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const ahead: Promise<{ path: string; bundle: string }>[] = [];
  let written = 0;
  const topUp = (): void => {
    for (; ahead.length < CERTIFICATES_AHEAD && written < names.length; written += 1) {
      const bundle = writtenBundle(configDir, haproxy.bundlesDir, names[written] as string);
      // Awaited in its turn, which reports a failed write; until then it must not count as unhandled.
      bundle.catch(() => undefined);
      ahead.push(bundle);
    }
  };
  topUp();
  for (let next = ahead.shift(); next !== undefined; next = ahead.shift()) {
    const { path, bundle } = await next;
    const set = client.expect(`set ssl cert ${path}`, /Transaction created/, bundle);
    topUp();
    await set;
    await client.expect(`commit ssl cert ${path}`, /Success!/);
  }
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  client.close();
  return { wallS, cpuS: (cpu.user + cpu.system) / 1e6 };
}

function writtenBundle(configDir: string, bundlesDir: string, name: string): Promise<{ path: string; bundle: string }> {
  const live = join(configDir, 'live', name);
  const contents = Object.fromEntries(LINKS.map((link) => [link, readFileSync(realpathSync.native(join(live, `${link}.pem`)), 'utf8')]));
  const bundle = `${contents.fullchain}${contents.privkey}`;
  const path = join(bundlesDir, `${name}.pem`);
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  writeSync(fd, bundle);
  return new Promise((resolve, reject) => {
    fsync(fd, (error) => {
      closeSync(fd);
      if (error) return reject(error);
      renameSync(temp, path);
      resolve({ path, bundle });
    });
  });
}
