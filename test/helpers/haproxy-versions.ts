import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { debianRoot, inRoot, rootEnv, type DebianSuite } from './debian-roots.js';
import { packageRoot } from './hotcert-cli.js';

/** The HAProxy series the suites run against: every LTS from Debian 12's to the newest. */
export const HAPROXY_VERSIONS = ['2.6', '2.8', '3.0', '3.2', '3.4'] as const;
export type HaproxyVersion = (typeof HAPROXY_VERSIONS)[number];

/** Where each series comes from. */
export type HaproxySource =
  /** A binary run as it is on the host. */
  | { readonly kind: 'host'; readonly binary: () => string }
  /** Debian's package inside a root of that suite, run chrooted. */
  | { readonly kind: 'root'; readonly suite: DebianSuite };

/**
 * The upstream builds of the series no Debian suite ships (see ../shared/haproxy/README.md next to the checkout);
 * HOTCERT_TEST_HAPROXY_DIR points elsewhere.
 */
export function sharedHaproxyDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOTCERT_TEST_HAPROXY_DIR || join(packageRoot(), '..', 'shared', 'haproxy');
}

export const HAPROXY_SOURCES: Readonly<Record<HaproxyVersion, HaproxySource>> = {
  '2.6': { kind: 'host', binary: () => '/usr/sbin/haproxy' },
  '2.8': { kind: 'host', binary: () => join(sharedHaproxyDir(), 'haproxy-2.8.0') },
  '3.0': { kind: 'root', suite: 'trixie' },
  '3.2': { kind: 'root', suite: 'sid' },
  '3.4': { kind: 'host', binary: () => join(sharedHaproxyDir(), 'haproxy-3.4.0') },
};

/** The HAProxy of the host: what a suite gets when it asks for no version. */
export const DEFAULT_HAPROXY_VERSION: HaproxyVersion = '2.6';

export function isHaproxyVersion(value: string): value is HaproxyVersion {
  return (HAPROXY_VERSIONS as readonly string[]).includes(value);
}

/** The versions to run: HOTCERT_TEST_HAPROXY=2.6,3.4 picks some (in that order), unset or empty means all. */
export function selectedHaproxyVersions(env: NodeJS.ProcessEnv = process.env): HaproxyVersion[] {
  const wanted = (env.HOTCERT_TEST_HAPROXY ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  if (wanted.length === 0) return [...HAPROXY_VERSIONS];
  const unknown = wanted.filter((entry) => !isHaproxyVersion(entry));
  if (unknown.length > 0) {
    throw new Error(`HOTCERT_TEST_HAPROXY: unknown version ${unknown.join(', ')} (known: ${HAPROXY_VERSIONS.join(', ')})`);
  }
  return [...new Set(wanted as HaproxyVersion[])];
}

/**
 * One jest `describe` per selected version, titled `[haproxy 3.2] name`, so a failure names its version and
 * `-t '\[haproxy 3.2\]'` runs one. `among` narrows it to the versions a suite can run (the container suites have
 * images of some series only); when none of those is selected, the suite is reported as skipped.
 */
export function describeEachHaproxy<V extends HaproxyVersion = HaproxyVersion>(name: string, body: (version: V) => void, among?: readonly V[]): void {
  const versions = selectedHaproxyVersions().filter((version): version is V => !among || (among as readonly HaproxyVersion[]).includes(version));
  if (versions.length === 0) {
    describe.skip(`[haproxy ${among?.join(', ')}] ${name}`, () => it(`runs only on HAProxy ${among?.join(' and ')} (HOTCERT_TEST_HAPROXY selects neither)`, () => undefined));
  }
  for (const version of versions) describe(`[haproxy ${version}] ${name}`, () => body(version));
}

/** How to start `haproxy ARGS` of a version: the command, its arguments and environment (undefined: the test's). */
export interface HaproxyCommand {
  readonly command: string;
  readonly args: string[];
  readonly env: NodeJS.ProcessEnv | undefined;
  /** The Debian root it runs chrooted in, if any. */
  readonly root: string | undefined;
}

/**
 * Paths under the system temp dir are the same inside a root and out (it is bind-mounted), so a test's config,
 * socket, crt-list and bundles can be passed as they are.
 */
export async function haproxyCommand(version: HaproxyVersion, args: readonly string[]): Promise<HaproxyCommand> {
  const source = HAPROXY_SOURCES[version];
  if (source.kind === 'host') {
    const binary = source.binary();
    if (!existsSync(binary)) {
      throw new Error(`HAProxy ${version}: ${binary} is missing (HOTCERT_TEST_HAPROXY_DIR names the directory of the upstream builds)`);
    }
    return { command: binary, args: [...args], env: undefined, root: undefined };
  }
  const root = await debianRoot(source.suite);
  return { ...inRoot(root, ['/usr/sbin/haproxy', ...args]), env: rootEnv(), root };
}
