import { readFile, readlink } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { debianRoot, inRoot, rootEnv, type DebianSuite } from './debian-roots.js';
import { runCommand } from './processes.js';
import type { TestPebble } from './pebble.js';

export type KeyType = 'ecdsa' | 'rsa';

export interface IssueOptions {
  readonly name: string;
  readonly domains: readonly string[];
  /** `default` passes no `--key-type`, to get what certbot itself chooses; ecdsa when unset. */
  readonly keyType?: KeyType | 'default';
}

/** The certbot series the suites can run: Debian 12's on the host, and Debian's packages in the test roots. */
export const CERTBOT_VERSIONS = ['2.1', '4.0', '5.5'] as const;
export type CertbotVersion = (typeof CERTBOT_VERSIONS)[number];

/** Where each series runs: on the host, or chrooted in the Debian root that ships it. */
export const CERTBOT_SUITES: Readonly<Record<CertbotVersion, DebianSuite | undefined>> = {
  '2.1': undefined,
  '4.0': 'trixie',
  '5.5': 'sid',
};

// certbot's own interpreter, read from its shebang: `python3` on PATH may be another Python that cannot import
// certbot (a pyenv shim here). The wrapper runs certbot's real main() and only caps time.sleep, which spends two
// fixed seconds per issuance waiting on a CA that answers in milliseconds; the files certbot writes, and the order
// it writes them in, are unchanged.
const SLEEP_CAPPED_CERTBOT = [
  'import sys, time',
  '_sleep = time.sleep',
  'time.sleep = lambda seconds: _sleep(min(seconds, 0.05))',
  'from certbot.main import main',
  'sys.exit(main())',
].join('\n');

/** How to start the interpreter with `argv`: on the host, or chrooted in a root. */
type Launcher = (argv: readonly string[]) => { command: string; args: string[]; env: NodeJS.ProcessEnv };

/**
 * Real certbot against a test pebble, with its own `--config-dir` (the `/etc/letsencrypt` of a test): the host's
 * 2.1 unless `version` asks for one from a Debian root. A root's certbot runs chrooted with the system temp dir at
 * its own path, so the config dir, pebble's CA file and the paths in certbot's output are the same inside and out;
 * pebble on loopback is reachable because the network is the host's.
 */
export class TestCertbot {
  readonly configDir: string;
  readonly version: CertbotVersion;
  private readonly workDir: string;
  private readonly logsDir: string;
  private launcher: Promise<Launcher> | undefined;
  // One certbot at a time per config dir: a second one fails at once on certbot's lock.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pebble: TestPebble,
    dir: string,
    options: { readonly version?: CertbotVersion } = {},
  ) {
    this.version = options.version ?? '2.1';
    this.configDir = join(dir, 'letsencrypt');
    this.workDir = join(dir, 'certbot-work');
    this.logsDir = join(dir, 'certbot-logs');
  }

  get liveDir(): string {
    return join(this.configDir, 'live');
  }

  issue(options: IssueOptions): Promise<string> {
    return this.run([
      'certonly', '--agree-tos', '--register-unsafely-without-email',
      '--manual', '--manual-auth-hook', 'true', '--preferred-challenges', 'http,dns',
      ...(options.keyType === 'default' ? [] : ['--key-type', options.keyType ?? 'ecdsa']), '--cert-name', options.name,
      ...options.domains.flatMap((domain) => ['-d', domain]),
    ]);
  }

  /** `certbot renew --force-renewal` of the named lineages one by one (certbot keeps only the last --cert-name), or of all. */
  async renew(names: readonly string[] = []): Promise<string> {
    const args = ['renew', '--force-renewal', '--no-random-sleep-on-renew'];
    if (names.length === 0) return this.run(args);
    let output = '';
    for (const name of names) output += await this.run([...args, '--cert-name', name]);
    return output;
  }

  delete(name: string): Promise<string> {
    return this.run(['delete', '--cert-name', name]);
  }

  /** Runs certbot with the given arguments after the ones that point it at this config dir and pebble. */
  run(args: readonly string[]): Promise<string> {
    const result = this.queue.then(() => this.runNow(args));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The archive version each of the four live links points at (`cert2.pem` → 2). */
  async linkVersions(name: string): Promise<Record<'cert' | 'privkey' | 'chain' | 'fullchain', number>> {
    const versions = {} as Record<'cert' | 'privkey' | 'chain' | 'fullchain', number>;
    for (const kind of ['cert', 'privkey', 'chain', 'fullchain'] as const) {
      const target = await readlink(join(this.liveDir, name, `${kind}.pem`));
      versions[kind] = Number(/(\d+)\.pem$/.exec(target)?.[1]);
    }
    return versions;
  }

  /** The serial (upper-case hex) of the certificate the lineage's live `cert.pem` holds now. */
  async liveSerial(name: string): Promise<string> {
    const pem = await readFile(join(this.liveDir, name, 'cert.pem'), 'utf8');
    return new X509Certificate(pem).serialNumber.toUpperCase();
  }

  /** What `certbot --version` prints, e.g. `certbot 4.0.0`. */
  async versionText(): Promise<string> {
    const result = await this.exec(['--version']);
    if (result.code !== 0) throw new Error(`certbot --version failed (exit ${result.code}):\n${result.stderr.slice(-2000)}`);
    return (result.stdout + result.stderr).trim();
  }

  private async runNow(args: readonly string[]): Promise<string> {
    const result = await this.exec([
      ...args, '--non-interactive',
      '--config-dir', this.configDir, '--work-dir', this.workDir, '--logs-dir', this.logsDir,
      '--server', this.pebble.directoryUrl,
    ]);
    if (result.code !== 0) {
      throw new Error(`certbot ${this.version} ${args[0]} failed (exit ${result.code}):\n${result.stderr.slice(-2000)}`);
    }
    return result.stdout + result.stderr;
  }

  private async exec(certbotArgs: readonly string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
    this.launcher ??= this.makeLauncher();
    const { command, args, env } = (await this.launcher)(['-c', SLEEP_CAPPED_CERTBOT, ...certbotArgs]);
    return runCommand(command, args, { env, timeoutMs: 180_000 });
  }

  private async makeLauncher(): Promise<Launcher> {
    const suite = CERTBOT_SUITES[this.version];
    const root = suite === undefined ? '' : await debianRoot(suite);
    const shebang = (await readFile(`${root}/usr/bin/certbot`, 'utf8')).split('\n')[0]?.replace(/^#!\s*/, '').trim();
    const interpreter = shebang || '/usr/bin/python3';
    const acmeEnv = { REQUESTS_CA_BUNDLE: this.pebble.tlsCaPath, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' };
    if (suite === undefined) return (argv) => ({ command: interpreter, args: [...argv], env: { ...process.env, ...acmeEnv } });
    return (argv) => ({ ...inRoot(root, [interpreter, ...argv]), env: rootEnv(acmeEnv) });
  }
}
