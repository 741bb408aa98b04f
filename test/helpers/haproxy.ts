import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { DEFAULT_HAPROXY_VERSION, haproxyCommand, type HaproxyVersion } from './haproxy-versions.js';
import { makeSelfSigned, type TestCertificate } from './pki.js';
import { runCommand, startProcess, type TrackedProcess } from './processes.js';
import { runtimeCommand } from './runtime-socket.js';
import { makeTempDir, type TempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

export interface HaproxyOptions {
  /** The series to run (haproxy-versions.ts says where each comes from); the host's 2.6 unless a suite asks. */
  readonly version?: HaproxyVersion;
  /** `level` of the stats socket; `admin` unless a test checks what a lower level does. */
  readonly socketLevel?: 'admin' | 'operator' | 'user';
  /**
   * Start with an empty crt-list and `strict-sni` instead of a default certificate first in the list (HAProxy 2.6
   * refuses an empty crt-list on a bind without strict-sni).
   */
  readonly strictSni?: boolean;
  /** More lines for the `global` section, e.g. `tune.bufsize 4096`. */
  readonly extraGlobal?: readonly string[];
  /** Runs once the directories exist and before HAProxy starts: to lay down an earlier deployment's files. */
  readonly beforeStart?: (paths: { bundlesDir: string; crtListPath: string }) => Promise<void>;
}

/**
 * A real HAProxy (`haproxy -W -db`, as Debian's unit and the official image run it) on a temp socket and port; the
 * process the test holds is the master, also when it runs chrooted in a Debian root.
 */
export interface TestHaproxy {
  /** The series asked for. */
  readonly series: HaproxyVersion;
  /** The full version the running HAProxy reports in `show info`, e.g. `3.2.26-1`. */
  readonly version: string;
  /** The Debian root it runs chrooted in (undefined for a binary run on the host). */
  readonly root: string | undefined;
  readonly dir: string;
  readonly socketPath: string;
  /** The loopback port of the TLS frontend that serves the crt-list. */
  readonly port: number;
  /** hotcert's directory (bundles and crt-list), as in production `/etc/haproxy/hotcert`. */
  readonly hotcertDir: string;
  readonly bundlesDir: string;
  readonly crtListPath: string;
  readonly configPath: string;
  /** The certificate served when no other matches (undefined with strictSni). */
  readonly defaultCertificate: TestCertificate | undefined;
  readonly process: TrackedProcess;
  command(line: string): Promise<string>;
  /** Sends a signal to the master process. */
  signal(signal: NodeJS.Signals): void;
  /** A reload as systemd and the official image do it (SIGUSR2 to the master), resolved once a new worker answers. */
  reload(): Promise<void>;
  /** `haproxy -c` of its configuration file with the same binary (and root), as an operator checks before a reload. */
  check(): Promise<{ code: number | string; output: string }>;
  /** Stops HAProxy and starts the same version again on the same files: what a restart or a reboot does. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The suites' haproxy.cfg: `global` lines, then one TLS frontend on `bind` that answers 200 to any request. */
export function haproxyConfigText(globalLines: readonly string[], bind: string): string {
  return [
    'global',
    ...globalLines.map((line) => `  ${line}`),
    '  stats timeout 30s',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend tls',
    `  bind ${bind}`,
    '  http-request return status 200 content-type text/plain string ok',
    '',
  ].join('\n');
}

export async function startHaproxy(options: HaproxyOptions = {}): Promise<TestHaproxy> {
  const temp: TempDir = await makeTempDir('haproxy');
  const dir = temp.path;
  const hotcertDir = join(dir, 'hotcert');
  const bundlesDir = join(hotcertDir, 'certs');
  const crtListPath = join(hotcertDir, 'crt-list.txt');
  const socketPath = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  await mkdir(bundlesDir, { recursive: true, mode: 0o750 });
  const port = await freePort();
  const defaultCertificate = options.strictSni ? undefined : await makeSelfSigned(dir, 'default', ['default.invalid']);
  await writeFile(crtListPath, defaultCertificate ? `${defaultCertificate.bundlePath}\n` : '');
  await writeFile(
    configPath,
    haproxyConfigText(
      [`stats socket ${socketPath} mode 600 level ${options.socketLevel ?? 'admin'}`, ...(options.extraGlobal ?? [])],
      `127.0.0.1:${port} ssl crt-list ${crtListPath}${options.strictSni ? ' strict-sni' : ''}`,
    ),
  );

  await options.beforeStart?.({ bundlesDir, crtListPath });

  const series = options.version ?? DEFAULT_HAPROXY_VERSION;
  const start = await haproxyCommand(series, ['-W', '-db', '-f', configPath]);
  const check = await haproxyCommand(series, ['-c', '-f', configPath]);
  const showInfo = async (): Promise<{ version: string; pid: string }> => {
    const reply = await runtimeCommand(socketPath, 'show info');
    const version = /^Version: (.+)$/m.exec(reply)?.[1];
    const pid = /^Pid: (\d+)$/m.exec(reply)?.[1];
    if (version === undefined || pid === undefined) throw new Error(`no Version or Pid in "show info": ${reply.slice(0, 200)}`);
    return { version, pid };
  };

  const launch = async (): Promise<{ child: TrackedProcess; version: string }> => {
    const child = startProcess(`haproxy ${series}`, start.command, start.args, start.env ? { env: start.env } : {});
    try {
      const { version } = await waitFor(showInfo, { timeoutMs: 15_000, what: `haproxy ${series} to answer on its runtime socket` });
      return { child, version };
    } catch (error) {
      await child.stop('SIGKILL');
      throw new Error(`haproxy ${series} did not start: ${(error as Error).message}\n${child.output()}`);
    }
  };

  let current = await launch().catch(async (error: unknown) => {
    await temp.remove();
    throw error;
  });
  const stopCurrent = async (): Promise<void> => {
    await current.child.stop('SIGTERM', 5000);
  };
  return {
    series,
    get version() {
      return current.version;
    },
    root: start.root,
    dir,
    socketPath,
    port,
    hotcertDir,
    bundlesDir,
    crtListPath,
    configPath,
    defaultCertificate,
    get process() {
      return current.child;
    },
    command: (line) => runtimeCommand(socketPath, line),
    signal: (signal) => {
      process.kill(current.child.pid, signal);
    },
    reload: async () => {
      const before = (await showInfo()).pid;
      process.kill(current.child.pid, 'SIGUSR2');
      await waitFor(async () => (await showInfo()).pid !== before, { timeoutMs: 15_000, what: `haproxy ${series} to answer from a new worker after SIGUSR2` });
    },
    check: async () => {
      const result = await runCommand(check.command, check.args, check.env ? { env: check.env, timeoutMs: 30_000 } : { timeoutMs: 30_000 });
      return { code: result.code, output: result.stdout + result.stderr };
    },
    restart: async () => {
      await stopCurrent();
      current = await launch();
    },
    stop: async () => {
      await stopCurrent();
      await temp.remove();
    },
  };
}
