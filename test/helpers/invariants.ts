import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { TestHaproxy } from './haproxy.js';

/** What HAProxy serves from hotcert's bundles: store path → leaf SHA-1 (upper-case hex), for stores in use. */
export async function servedStores(haproxy: TestHaproxy): Promise<Record<string, string>> {
  const listing = await haproxy.command('show ssl cert');
  const paths = listing.split('\n').map((line) => line.trim()).filter((line) => line.startsWith(`${haproxy.bundlesDir}/`));
  const served: Record<string, string> = {};
  for (const path of paths) {
    const details = await haproxy.command(`show ssl cert ${path}`);
    if (!/^Status: Used$/m.test(details)) continue;
    served[path] = /^SHA1 FingerPrint: (\S+)$/m.exec(details)?.[1]?.toUpperCase() ?? 'none';
  }
  return served;
}

/** The leaf SHA-1 of a bundle file, as HAProxy prints it. */
export function bundleLeafSha1(path: string): string {
  return new X509Certificate(readFileSync(path, 'utf8')).fingerprint.replace(/:/g, '').toUpperCase();
}

/** hotcert's temp files (a killed process's leftovers hold private keys). */
export function tempFiles(...dirs: string[]): string[] {
  return dirs.flatMap((dir) => (existsSync(dir) ? readdirSync(dir).filter((entry) => entry.endsWith('.tmp')) : []));
}

/**
 * The promises hotcert makes, checked from outside after a fault:
 * - every line of the crt-list file names a bundle file that exists, and `haproxy -c` passes on the files;
 * - a bundle on disk is what HAProxy serves (hotcert converged) for every store it serves from the bundles dir;
 * - a restart of HAProxy serves exactly what was served before it.
 * Returns what was served, for further assertions.
 */
export async function expectInvariants(haproxy: TestHaproxy): Promise<Record<string, string>> {
  const lines = readFileSync(haproxy.crtListPath, 'utf8').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const missing = lines.map((line) => line.split(/\s+/)[0] as string).filter((path) => !existsSync(path));
  expect({ linesNamingMissingFiles: missing }).toEqual({ linesNamingMissingFiles: [] });
  const check = await haproxy.check();
  expect({ code: check.code, alerts: check.output.split('\n').filter((line) => line.includes('[ALERT]')) }).toEqual({ code: 0, alerts: [] });

  const before = await servedStores(haproxy);
  const onDisk = Object.fromEntries(Object.keys(before).map((path) => [path, existsSync(path) ? bundleLeafSha1(path) : 'no file']));
  expect(onDisk).toEqual(before);
  await haproxy.restart();
  expect(await servedStores(haproxy)).toEqual(before);
  return before;
}
