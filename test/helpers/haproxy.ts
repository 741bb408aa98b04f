import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { makeSelfSigned, type TestCertificate } from './pki.js';
import { startProcess, type TrackedProcess } from './processes.js';
import { runtimeCommand } from './runtime-socket.js';
import { makeTempDir, type TempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

export interface HaproxyOptions {
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

/** A real HAProxy 2.6 (`haproxy -W -db`, as Debian's unit and the official image run it) on a temp socket and port. */
export interface TestHaproxy {
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
  /** Stops HAProxy and starts it again on the same files: what a restart or a reboot does. */
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

  const launch = async (): Promise<TrackedProcess> => {
    const child = startProcess('haproxy', 'haproxy', ['-W', '-db', '-f', configPath]);
    try {
      await waitFor(async () => (await runtimeCommand(socketPath, 'show info')).includes('Version:'), {
        timeoutMs: 15_000,
        what: 'haproxy to answer on its runtime socket',
      });
    } catch (error) {
      await child.stop('SIGKILL');
      throw new Error(`haproxy did not start: ${(error as Error).message}\n${child.output()}`);
    }
    return child;
  };

  let current = await launch();
  const stopCurrent = async (): Promise<void> => {
    await current.stop('SIGTERM', 5000);
  };
  return {
    dir,
    socketPath,
    port,
    hotcertDir,
    bundlesDir,
    crtListPath,
    configPath,
    defaultCertificate,
    get process() {
      return current;
    },
    command: (line) => runtimeCommand(socketPath, line),
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
