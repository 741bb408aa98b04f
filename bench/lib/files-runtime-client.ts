import { closeSync, fsync, openSync, readFileSync, realpathSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHaproxy } from '../../test/helpers/haproxy.js';
import { RawRuntimeClient } from './raw-runtime-client.js';

const LINKS = ['cert', 'chain', 'fullchain', 'privkey'] as const;

/**
 * The raw client plus the file work no deploy that survives a restart can skip, done the cheapest way Node allows:
 * the four live links resolved and read, the bundle written beside its final name, fsynced in libuv's pool and
 * renamed over it. The next certificate's files are done while HAProxy commits the current one. No check of any
 * kind: the floor under what a Node client that keeps the files in step can reach, between the raw client and
 * `hotcert sync`. @returns its wall time and this process's CPU (user + system) in seconds for N renewals.
 */
export async function rawRunWithFiles(haproxy: TestHaproxy, configDir: string, names: readonly string[]): Promise<{ wallS: number; cpuS: number }> {
  const client = await RawRuntimeClient.open(haproxy.socketPath);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  let next = writtenBundle(configDir, haproxy.bundlesDir, names[0] as string);
  for (let index = 0; index < names.length; index += 1) {
    const { path, bundle } = await next;
    const set = client.expect(`set ssl cert ${path}`, /Transaction created/, bundle);
    const following = names[index + 1];
    if (following !== undefined) next = writtenBundle(configDir, haproxy.bundlesDir, following);
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
