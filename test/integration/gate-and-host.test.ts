import { get } from 'node:http';
import { mkdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { describeEachHaproxy, type HaproxyVersion } from '../helpers/haproxy-versions.js';
import { runHotcert, startHotcertRun, type CliResult } from '../helpers/hotcert-cli.js';
import { makeTestLineage, writeLineage, type TestLineagePems } from '../helpers/lineage-pems.js';
import { runCommand } from '../helpers/processes.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { mountTmpfs } from '../helpers/tmpfs.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';
import { canonicalSerial } from '../../src/core/serial.js';

function opensslDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z').slice(2);
}

function der(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function pem(bytes: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${bytes.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** The leaf with one bit of its signature flipped: it still parses, and only a signature check sees it. */
function flippedSignature(pems: TestLineagePems): TestLineagePems {
  const bytes = der(pems.cert);
  bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0x01;
  const cert = pem(bytes);
  return { ...pems, cert, fullchain: cert + pems.chain };
}

/** The leaf with a notAfter whose month is 13: OpenSSL parses the certificate and prints "Bad time value". */
function malformedNotAfter(pems: TestLineagePems): TestLineagePems {
  const bytes = der(pems.cert);
  const times = [...bytes.keys()].filter((index) => bytes[index] === 0x17 && bytes[index + 1] === 0x0d);
  const month = (times[1] as number) + 4;
  bytes[month] = 0x31;
  bytes[month + 1] = 0x33;
  const cert = pem(bytes);
  return { ...pems, cert, fullchain: cert + pems.chain };
}

async function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('error', reject);
    request.once('timeout', () => request.destroy(new Error('timeout')));
  });
}

describeEachHaproxy('the certificate gate: what must never be served is refused, and what is served stays', (version: HaproxyVersion) => {
  let temp: TempDir;
  let haproxy: TestHaproxy;
  let le: string;
  let file: string;
  const served: Record<string, string> = {};

  beforeAll(async () => {
    temp = await makeTempDir('gate');
    le = join(temp.path, 'letsencrypt');
    haproxy = await startHaproxy({ version, strictSni: true });
    file = join(temp.path, 'hotcert.yaml');
    await writeFile(file, [`letsencrypt: { dir: ${le} }`, `bundles: { dir: ${haproxy.bundlesDir} }`, `crtList: { file: ${haproxy.crtListPath} }`, `state: { file: ${join(temp.path, 'state.json')} }`, 'targets:', `  - { name: edge, runtime: "unix:${haproxy.socketPath}" }`, ''].join('\n'));
    // A first, good version of each lineage, served before the bad one arrives.
    for (const name of ['flipped', 'foreign', 'future', 'baddate', 'weak']) {
      const good = await makeTestLineage([`${name}.test`]);
      await writeLineage(le, name, good);
      served[name] = canonicalSerial(good.serial);
    }
    expect((await runHotcert(['sync', '--config', file])).code).toBe(0);
  });

  afterAll(async () => {
    await haproxy?.stop();
    await temp?.remove();
  });

  it.each<[string, () => Promise<TestLineagePems>, RegExp]>([
    ['flipped', async () => flippedSignature(await makeTestLineage(['flipped.test'])), /the certificate in live\/flipped\/cert\.pem has a signature that the chain's first certificate does not verify/],
    ['foreign', async () => {
      const own = await makeTestLineage(['foreign.test']);
      const other = await makeTestLineage(['other.test']);
      return { ...own, chain: other.chain, fullchain: own.cert + other.chain };
    }, /the chain in live\/foreign\/chain\.pem: its first certificate did not issue the leaf/],
    ['future', () => makeTestLineage(['future.test'], { startDate: opensslDate(2) }), /the certificate in live\/future\/cert\.pem is not valid before \d{4}-/],
    ['baddate', async () => malformedNotAfter(await makeTestLineage(['baddate.test'])), /the certificate in live\/baddate\/cert\.pem has a notAfter that cannot be read \(\\"Bad time value\\"\)/],
    ['weak', () => makeTestLineage(['weak.test'], { keyType: 'rsa', rsaBits: 1024 }), /live\/weak\/privkey\.pem is RSA 1024: HAProxy's OpenSSL refuses RSA keys under 2048 bits/],
  ])('%s: refused with a message naming the file, exit 69, the earlier certificate still served', async (name, make, message) => {
    await writeLineage(le, name, await make(), 2);
    const result: CliResult = await runHotcert(['sync', '--config', file, name], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(new RegExp(`deploy failed lineage=${name} target=edge .*error_code=LINEAGE_INVALID error="lineage ${name}: ${message.source}`));
    expect(result.stderr).not.toMatch(/RangeError|at .*\.js:\d+/);
    expect(canonicalSerial((await probeServedCertificate(haproxy.port, `${name}.test`)).serial)).toBe(served[name]);
  });
}, ['2.6', '3.4']);

describeEachHaproxy('what the host does: a FIFO, symlinks, long names, a lock, a read-only directory, the inotify limit', () => {
  let temp: TempDir;
  let haproxy: TestHaproxy;
  let le: string;
  let file: string;
  let metricsPort: number;

  beforeAll(async () => {
    temp = await makeTempDir('host');
    le = join(temp.path, 'letsencrypt');
    await mkdir(join(le, 'live'), { recursive: true });
    await mkdir(join(le, 'renewal'), { recursive: true });
    haproxy = await startHaproxy({ strictSni: true });
    metricsPort = await freePort();
    file = join(temp.path, 'hotcert.yaml');
    await writeFile(
      file,
      [
        `letsencrypt: { dir: ${le} }`,
        `bundles: { dir: ${haproxy.bundlesDir} }`,
        `crtList: { file: ${haproxy.crtListPath} }`,
        `state: { file: ${join(temp.path, 'state.json')} }`,
        'targets:',
        `  - { name: edge, runtime: "unix:${haproxy.socketPath}" }`,
        'watch: { settleMs: 50, maxWaitMs: 500, pollMs: 1000, targetCheckIntervalMs: 500 }',
        `metrics: { listen: "127.0.0.1:${metricsPort}" }`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await haproxy?.stop();
    await temp?.remove();
  });

  it('a FIFO where a key should be: sync does not hang, the daemon keeps answering, deploying and stopping', async () => {
    await writeLineage(le, 'piped', await makeTestLineage(['piped.test']));
    await writeLineage(le, 'other', await makeTestLineage(['other.test']));
    expect((await runHotcert(['sync', '--config', file])).code).toBe(0);
    // A new archive version whose key is a FIFO nobody writes to, and the links flipped to it.
    const next = await makeTestLineage(['piped.test']);
    await writeLineage(le, 'piped', next, 2);
    await unlink(join(le, 'archive', 'piped', 'privkey2.pem'));
    expect((await runCommand('mkfifo', [join(le, 'archive', 'piped', 'privkey2.pem')])).code).toBe(0);
    const result = await runHotcert(['sync', '--config', file], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/lineage piped: live\/piped\/privkey\.pem \(\S+privkey2\.pem\) is a FIFO, not a regular file/);

    const daemon = startHotcertRun(file);
    try {
      await waitFor(() => daemon.output().includes('hotcert running'), { timeoutMs: 20_000, what: 'the daemon to start' });
      expect(await httpStatus(metricsPort, '/livez')).toBe(200);
      const renewed = await makeTestLineage(['other.test']);
      await writeLineage(le, 'other', renewed, 2);
      await writeFile(join(le, 'renewal', 'other.conf'), 'renewed\n');
      await waitFor(async () => canonicalSerial((await probeServedCertificate(haproxy.port, 'other.test')).serial) === canonicalSerial(renewed.serial), { timeoutMs: 10_000, what: 'the other lineage\'s renewal' });
      expect(await httpStatus(metricsPort, '/livez')).toBe(200);
    } finally {
      const started = Date.now();
      expect(await daemon.stop('SIGTERM', 15_000)).toBe(0);
      expect(Date.now() - started).toBeLessThan(12_000);
    }
    await rm(join(le, 'live', 'piped'), { recursive: true });
    await rm(join(le, 'archive', 'piped'), { recursive: true });
  });

  it('a lineage directory that is a link, and names too long or hostile: refused by name, the others deployed', async () => {
    await writeLineage(le, 'real', await makeTestLineage(['real.test']));
    await symlink(join(le, 'live', 'real'), join(le, 'live', 'linked'));
    const long = 'l'.repeat(241);
    await mkdir(join(le, 'live', long));
    await mkdir(join(le, 'live', 'bad;name'));
    const result = await runHotcert(['sync', '--config', file], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/deploy failed lineage=linked target=edge .*live\/linked is a symbolic link: Certbot makes lineage directories, never links/);
    expect(result.stderr).toMatch(new RegExp(`deploy failed lineage=${long} .*its name is 241 characters long; hotcert takes at most 240`));
    expect(result.stderr).toMatch(/lineage=\\?"?bad;name.*its name has characters hotcert does not put into an HAProxy command/);
    expect(result.stderr).not.toMatch(/ENAMETOOLONG/);
    await probeServedCertificate(haproxy.port, 'real.test');
    await rm(join(le, 'live', 'linked'));
    await rm(join(le, 'live', long), { recursive: true });
    await rm(join(le, 'live', 'bad;name'), { recursive: true });
  });

  it('the daemon reports a hostile name the moment it appears, not at the next rescan', async () => {
    const daemon = startHotcertRun(file);
    try {
      await waitFor(() => daemon.output().includes('hotcert running'), { timeoutMs: 20_000, what: 'the daemon to start' });
      await mkdir(join(le, 'live', 'evil name'));
      await waitFor(() => /lineage refused: its name has characters hotcert does not put into an HAProxy command .*lineage="evil name"/.test(daemon.output()), { timeoutMs: 5000, what: 'the refusal' });
    } finally {
      await daemon.stop('SIGTERM', 10_000);
      await rm(join(le, 'live', 'evil name'), { recursive: true });
    }
  });

  it('four hotcerts started at once over a stale lock: exactly one runs, the others exit 75 naming it', async () => {
    // What a killed hotcert left: the note in the lock file; the kernel released the lock itself.
    await writeFile(join(haproxy.hotcertDir, '.hotcert.lock'), `${JSON.stringify({ pid: 999_999, host: 'gone', manager: 'shell' })}\n`);
    for (let round = 0; round < 5; round += 1) {
      const daemons = Array.from({ length: 4 }, () => startHotcertRun(file));
      try {
        await waitFor(() => daemons.filter((daemon) => !daemon.isRunning()).length === 3, { timeoutMs: 20_000, what: 'three of four to give up' });
        const codes = await Promise.all(daemons.filter((daemon) => !daemon.isRunning()).map((daemon) => daemon.exited));
        expect(codes).toEqual([75, 75, 75]);
        const winner = daemons.find((daemon) => daemon.isRunning());
        for (const loser of daemons.filter((daemon) => daemon !== winner)) expect(loser.output()).toContain(`another hotcert (pid ${winner?.pid} on `);
      } finally {
        await Promise.all(daemons.map((daemon) => daemon.stop('SIGKILL')));
      }
    }
  });

  it('a read-only directory for hotcert\'s own files: one line naming it, exit 73, no stack trace', async () => {
    const dir = join(temp.path, 'ro');
    await mkdir(dir);
    const fs = await mountTmpfs(dir);
    try {
      await fs.remount('ro');
      const roConfig = join(temp.path, 'ro.yaml');
      await writeFile(roConfig, (await readFile(file, 'utf8')).replace(`crtList: { file: ${haproxy.crtListPath} }`, `crtList: { file: ${dir}/crt-list.txt }`).replace(/metrics: .*\n/, ''));
      const result = await runHotcert(['sync', '--config', roConfig], { HOTCERT_LOG_FORMAT: 'text' });
      expect(result.code).toBe(73);
      expect(result.stderr).toMatch(new RegExp(`error (cannot open the lock|cannot write) ${dir}/.*the file system is read-only \\(EROFS\\)`));
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await fs.unmount();
    }
  });

  it('the inotify limit reached at start: said once with the fix, renewals found by polling, watches back once raised', async () => {
    const sysctl = '/proc/sys/fs/inotify/max_user_watches';
    const before = (await readFile(sysctl, 'utf8')).trim();
    const daemonLog: string[] = [];
    await writeFile(sysctl, '1');
    const daemon = startHotcertRun(file);
    try {
      await waitFor(() => daemon.output().includes('hotcert running'), { timeoutMs: 20_000, what: 'the daemon to start' });
      daemonLog.push(daemon.output());
      expect(daemon.output()).toMatch(/cannot watch \S+: the inotify limit is reached \(ENOSPC\); raise it, e\.g\. "sysctl fs\.inotify\.max_user_watches=524288/);
      expect(daemon.output().match(/the inotify limit is reached/g)).toHaveLength(1);
      expect(await metric(metricsPort, 'hotcert_source_watching{source="certbot"}')).toBe('0');
      const health = await httpText(metricsPort, '/healthz');
      expect(health).toMatch(/degraded: the source is polled every 1 s, not watched/);
      const renewed = await makeTestLineage(['real.test']);
      await writeLineage(le, 'real', renewed, 2);
      await waitFor(async () => canonicalSerial((await probeServedCertificate(haproxy.port, 'real.test')).serial) === canonicalSerial(renewed.serial), { timeoutMs: 10_000, what: 'the renewal, found by polling' });
      const status = await runHotcert(['status', '--config', file]);
      expect(status.stdout.split('\n')[0]).toMatch(/^HOTCERT WARNING - .*source polled, not watched/);
    } finally {
      await writeFile(sysctl, before);
    }
    try {
      await waitFor(() => /watching the source for changes source=certbot watches=3/.test(daemon.output().slice(daemonLog[0]?.length ?? 0)), { timeoutMs: 20_000, what: 'the watches to come back' });
      expect(await metric(metricsPort, 'hotcert_source_watching{source="certbot"}')).toBe('1');
    } finally {
      await daemon.stop('SIGTERM', 10_000);
    }
  });
}, ['2.6']);

async function httpText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path, timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.once('error', reject);
  });
}

async function metric(port: number, series: string): Promise<string | undefined> {
  const text = await httpText(port, '/metrics');
  return text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1];
}
