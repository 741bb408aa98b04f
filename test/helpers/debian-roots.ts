import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from './hotcert-cli.js';
import { runCommand } from './processes.js';

/**
 * Debian suites whose own haproxy, certbot and nodejs the tests run, from root file systems built by
 * test/roots/build-debian-root.sh: trixie (haproxy 3.0, certbot 4.0, nodejs 20.19), sid (haproxy 3.2, certbot 5.5,
 * nodejs 24).
 */
export type DebianSuite = 'trixie' | 'sid';

export const ROOT_BUILD_SCRIPT = join(packageRoot(), 'test', 'roots', 'build-debian-root.sh');

/** A host directory seen at the same path inside the root. */
export interface RootBind {
  readonly path: string;
  readonly readOnly?: boolean;
}

/** What a process in a root needs by default: the test temp dirs (sockets, configs, certbot dirs) at their own path. */
export function defaultBinds(): RootBind[] {
  return [{ path: tmpdir() }];
}

/**
 * The path of the suite's root, built first when the cache does not hold it yet (test/run builds both before jest
 * starts; a first build takes about a minute).
 */
export async function debianRoot(suite: DebianSuite): Promise<string> {
  const result = await runCommand('bash', [ROOT_BUILD_SCRIPT, suite], { timeoutMs: 900_000 });
  const path = result.stdout.trim().split('\n').pop();
  if (result.code !== 0 || !path) {
    throw new Error(`the ${suite} root could not be built (exit ${result.code}):\n${result.stderr.slice(-2000)}`);
  }
  return path;
}

// Runs as `sh -c SCRIPT sh ROOT N PATH1 MODE1 ... PATHn MODEn COMMAND ARGS...`: every path arrives as its own
// argument, never spliced into the script. `exec` all the way down, so the PID the caller holds is COMMAND's.
const IN_ROOT = [
  'root=$1; count=$2; shift 2',
  'while [ "$count" -gt 0 ]; do',
  '  mkdir -p "$root$1" && mount --bind "$1" "$root$1" || exit 125',
  '  if [ "$2" = ro ]; then mount -o remount,bind,ro "$root$1" || exit 125; fi',
  '  shift 2; count=$((count - 1))',
  'done',
  'mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" || exit 125',
  'exec chroot "$root" "$@"',
].join('\n');

/**
 * The command and arguments that run `argv` chrooted in `root`, in a private mount namespace of its own: the binds,
 * /dev and /proc exist only for that process and its children, and vanish with them, so nothing can be left
 * mounted on the host or in the cached root.
 */
export function inRoot(root: string, argv: readonly string[], binds: readonly RootBind[] = defaultBinds()): { command: string; args: string[] } {
  const bindArgs = binds.flatMap((bind) => [bind.path, bind.readOnly ? 'ro' : 'rw']);
  return {
    command: 'unshare',
    args: ['-m', '--propagation', 'private', 'sh', '-c', IN_ROOT, 'sh', root, String(binds.length), ...bindArgs, ...argv],
  };
}

/** The environment for a process in a root: the host's PATH and tool settings (pyenv, proxies) mean nothing there. */
export function rootEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', ...extra };
}
