import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCertbot } from '../helpers/certbot.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { HOTCERT_BIN, runHotcert } from '../helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../helpers/hotcert-config.js';
import { startPebble, type TestPebble } from '../helpers/pebble.js';
import { makeSelfSigned } from '../helpers/pki.js';
import { runCommand, startProcess } from '../helpers/processes.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { forEachLimited, makeIssuer, makeSyntheticPems, writeSyntheticLineage } from '../helpers/synthetic-lineages.js';
import { runtimeCommand } from '../helpers/runtime-socket.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';
import { canonicalSerial } from '../../src/core/serial.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';

/** Opens a transaction the way another runtime API client would, and leaves it open. */
async function openForeignTransaction(haproxy: TestHaproxy, path: string, bundlePath: string): Promise<void> {
  const bundle = (await readFile(bundlePath, 'utf8')).split('\n').filter((line) => line.trim() !== '').join('\n');
  const reply = await runtimeCommand(haproxy.socketPath, `set ssl cert ${path} <<\n${bundle}\n`);
  expect(reply).toContain(`Transaction created for certificate ${path}!`);
}

describeEachHaproxy('hotcert sync and HAProxy\'s one certificate transaction', (version) => {
  let stack: TestStack;
  let temp: TempDir;
  let certbot: TestCertbot;
  let haproxy: TestHaproxy;

  beforeAll(async () => {
    stack = await startStack('transactions', { version });
    ({ temp, certbot, haproxy } = stack);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('a transaction another client left open is aborted once it stayed unchanged, never committed', async () => {
    const defaultPath = haproxy.defaultCertificate?.bundlePath as string;
    const intruder = await makeSelfSigned(temp.path, 'intruder', ['default.invalid']);
    await openForeignTransaction(haproxy, defaultPath, intruder.bundlePath);
    await certbot.issue({ name: 'first', domains: ['first.test'] });
    const config = await writeHotcertConfig(temp.path, { letsencryptDir: certbot.configDir, haproxy, name: 'stale.yaml', extraLines: ['deploy: { staleTransactionMs: 1000 }'] });
    const result = await runHotcert(['sync', '--config', config], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`another client has a certificate transaction open; waiting target=edge file=${defaultPath}`));
    expect(result.stderr).toMatch(new RegExp(`aborted a certificate transaction left open and unchanged target=edge file=${defaultPath} open_ms=\\d+ outcome=aborted`));
    expect(await haproxy.command('show ssl cert')).not.toContain('# transaction');
    // The other client's certificate was never committed; hotcert's lineage is served.
    expect((await probeServedCertificate(haproxy.port, 'unknown.test')).serial).toBe(haproxy.defaultCertificate?.serial);
    expect((await probeServedCertificate(haproxy.port, 'first.test')).serial).toBe(await certbot.liveSerial('first'));
  });

  it('a client that is still working is waited for and its commit goes through', async () => {
    const defaultPath = haproxy.defaultCertificate?.bundlePath as string;
    const replacement = await makeSelfSigned(temp.path, 'replacement', ['default.invalid']);
    await openForeignTransaction(haproxy, defaultPath, replacement.bundlePath);
    await certbot.issue({ name: 'second', domains: ['second.test'] });
    const config = await writeHotcertConfig(temp.path, { letsencryptDir: certbot.configDir, haproxy, name: 'busy.yaml', extraLines: ['deploy: { staleTransactionMs: 8000 }'] });
    const sync = startProcess('hotcert sync', process.execPath, [HOTCERT_BIN, 'sync', '--config', config], { env: { ...process.env, HOTCERT_LOG_FORMAT: 'text' } });
    // The other client commits while hotcert waits for it.
    await waitFor(() => sync.output().includes('another client has a certificate transaction open; waiting'), { timeoutMs: 20_000, what: 'hotcert to wait for the other client' });
    expect(await runtimeCommand(haproxy.socketPath, `commit ssl cert ${defaultPath}`)).toMatch(/Success!/);
    expect(await sync.exited).toBe(0);
    expect(sync.output()).not.toContain('aborted a certificate transaction');
    expect((await probeServedCertificate(haproxy.port, 'unknown.test')).serial).toBe(replacement.serial);
    expect((await probeServedCertificate(haproxy.port, 'second.test')).serial).toBe(await certbot.liveSerial('second'));
  });

  it('a reload in the middle of a sync ends with every renewed certificate served by the new worker', async () => {
    // Enough lineages in Certbot's layout that the renewal sync lasts well past the start of HAProxy's reload.
    const names = Array.from({ length: 200 }, (_, index) => `reload${index}`);
    const issuer = await makeIssuer();
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(certbot.configDir, issuer, name, 1));
    const config = await writeHotcertConfig(temp.path, { letsencryptDir: certbot.configDir, haproxy, name: 'reload.yaml' });
    expect((await runHotcert(['sync', '--config', config])).code).toBe(0);
    await forEachLimited(names, 16, (name) => writeSyntheticLineage(certbot.configDir, issuer, name, 2));
    const pidBefore = (await haproxy.command('show info')).match(/^Pid: (\d+)$/m)?.[1];

    const child = startProcess('hotcert', process.execPath, [HOTCERT_BIN, 'sync', '--config', config], {
      env: { ...process.env, HOTCERT_LOG_FORMAT: 'text' },
    });
    await waitFor(() => child.output().includes('certificate deployed') || !child.isRunning(), { timeoutMs: 20_000, intervalMs: 1, what: 'the first deploy' });
    process.kill(haproxy.process.pid, 'SIGUSR2');
    const code = await child.exited;
    expect({ code, output: child.output().slice(-2000) }).toMatchObject({ code: 0 });
    expect(child.output()).toContain('target reloaded during the sync; syncing it again target=edge');

    await waitFor(async () => (await haproxy.command('show info')).match(/^Pid: (\d+)$/m)?.[1] !== pidBefore, { timeoutMs: 15_000, what: 'the reload' });
    for (const name of names) {
      const details = await haproxy.command(`show ssl cert ${haproxy.bundlesDir}/${name}.pem`);
      const expected = canonicalSerial(await certbot.liveSerial(name));
      expect({ name, serial: details.match(/^Serial: (\S+)$/m)?.[1], status: details.match(/^Status: (\S+)$/m)?.[1] }).toEqual({ name, serial: expected, status: 'Used' });
    }
    expect(canonicalSerial((await probeServedCertificate(haproxy.port, 'reload0.bench')).serial)).toBe(canonicalSerial(await certbot.liveSerial('reload0')));
    const again = await runHotcert(['sync', '--config', config], { HOTCERT_LOG_FORMAT: 'text' });
    expect(again.stderr).not.toMatch(/certificate (deployed|added)/);
  });

  it('a lineage served as it is keeps its outcome when a run of renewals before it has the sync read in full', async () => {
    // After four deployed in a row a sync reads the next certificates in full, without the quick look. The last
    // lineage's chain.pem no longer matches its fullchain.pem (which is what HAProxy and the bundle file hold): the
    // quick look finds it unchanged, the full read refuses it. Both readings must give the same outcome.
    const letsencryptDir = join(temp.path, 'adaptive-letsencrypt');
    const renewed = Array.from({ length: 24 }, (_, index) => `adapt${String(index).padStart(2, '0')}`);
    const issuer = await makeIssuer();
    await forEachLimited([...renewed, 'adaptzz'], 8, (name) => writeSyntheticLineage(letsencryptDir, issuer, name, 1));
    const config = await writeHotcertConfig(temp.path, { letsencryptDir, haproxy, name: 'adaptive.yaml' });
    expect((await runHotcert(['sync', '--config', config])).code).toBe(0);

    await forEachLimited(renewed, 8, (name) => writeSyntheticLineage(letsencryptDir, issuer, name, 2));
    const otherChain = (await makeSyntheticPems(await makeIssuer(), 'adaptzz')).chain;
    await writeFile(join(letsencryptDir, 'archive', 'adaptzz', 'chain1.pem'), otherChain);
    const result = await runHotcert(['sync', '--config', config], { HOTCERT_LOG_FORMAT: 'text' });
    expect({ code: result.code, summary: result.stderr.match(/sync finished: .*/)?.[0] }).toEqual({
      code: 0,
      summary: expect.stringContaining('lineages=25 targets=1 deployed=24 added=0 reloaded=0 unchanged=1 not_ready=0 held=0 failed=0') as unknown as string,
    });
    expect(result.stderr).not.toMatch(/adaptzz.*(error|failed)/);
    const served = await haproxy.command(`show ssl cert ${haproxy.bundlesDir}/adaptzz.pem`);
    expect(served.match(/^Status: (\S+)$/m)?.[1]).toBe('Used');
    const renewedLeaf = new X509Certificate(await readFile(join(letsencryptDir, 'live', 'adapt23', 'cert.pem'), 'utf8'));
    expect(canonicalSerial((await probeServedCertificate(haproxy.port, 'adapt23.bench')).serial)).toBe(canonicalSerial(renewedLeaf.serialNumber));
  });

  it('refuses to run while another process holds the lock, and runs once the kernel released it (SIGKILL)', async () => {
    const config = await writeHotcertConfig(temp.path, { letsencryptDir: certbot.configDir, haproxy, name: 'lock.yaml' });
    const lock = join(haproxy.hotcertDir, '.hotcert.lock');
    // flock(1) holding the lock, as a running hotcert holds it; a note of a PID in the file means nothing.
    await writeFile(lock, `${JSON.stringify({ pid: 1, host: 'elsewhere', manager: 'container' })}\n`);
    // One process holds it (bash takes it on its own descriptor, then becomes sleep): killing it releases it.
    const holder = startProcess('lock holder', 'bash', ['-c', `exec 9>>'${lock}' && flock --exclusive 9 && exec sleep 60`]);
    await waitFor(async () => (await runCommand('flock', ['--nonblock', '--shared', lock, 'true'])).code !== 0, { what: 'flock to hold the lock' });
    const refused = await runHotcert(['sync', '--config', config]);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toContain(`another hotcert (pid 1 on elsewhere) is writing to these targets (lock ${lock}); to resync now, send it SIGHUP: docker kill -s HUP <its container> (elsewhere)`);

    await holder.stop('SIGKILL');
    const taken = await runHotcert(['sync', '--config', config]);
    expect(taken.code).toBe(0);
  });
});

describeEachHaproxy('a bundle HAProxy rejects', (version) => {
  let temp: TempDir;
  let pebble: TestPebble;
  let haproxy: TestHaproxy;

  afterAll(async () => {
    await Promise.all([haproxy?.stop(), pebble?.stop()]);
    await temp?.remove();
  });

  it('is not left on disk: the previous bundle is back before the error is reported', async () => {
    temp = await makeTempDir('rejected');
    pebble = await startPebble(temp.path);
    const certbot = new TestCertbot(pebble, temp.path);
    await certbot.issue({ name: 'site', domains: ['site.test'], keyType: 'rsa' });
    const live = join(certbot.configDir, 'live', 'site');
    const firstBundle = (await readFile(join(live, 'fullchain.pem'), 'utf8')) + (await readFile(join(live, 'privkey.pem'), 'utf8'));
    // An HAProxy whose buffers are smaller than this RSA bundle: it serves the bundle an earlier deploy left on disk,
    // but cannot take it in one runtime command. (Far from the exact-size crash of 2.6.12.)
    haproxy = await startHaproxy({
      version,
      // 3.4 reads a payload up to tune.cli.max-payload-size, and says so when it is too big (before closing).
      extraGlobal: version === '3.4' ? ['tune.bufsize 4096', 'tune.cli.max-payload-size 4096'] : ['tune.bufsize 4096'],
      beforeStart: async ({ bundlesDir, crtListPath }) => {
        await writeFile(join(bundlesDir, 'site.pem'), firstBundle, { mode: 0o600 });
        await writeFile(crtListPath, `${await readFile(crtListPath, 'utf8')}${bundlesDir}/site.pem\n`);
      },
    });
    const served = (await probeServedCertificate(haproxy.port, 'site.test')).serial;
    expect(served).toBe(await certbot.liveSerial('site'));
    const onDisk = await readFile(join(haproxy.bundlesDir, 'site.pem'), 'utf8');

    await certbot.renew(['site']);
    const config = await writeHotcertConfig(temp.path, { letsencryptDir: certbot.configDir, haproxy });
    const result = await runHotcert(['sync', '--config', config], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(
      version === '3.4'
        ? /deploy failed lineage=site target=edge .*error_code=RUNTIME_COMMAND_TOO_LARGE error="target edge \(HAProxy 3\.4\.[^)]*\): \\"set ssl cert [^"]*site\.pem\\" is \d+ bytes and HAProxy refused it: The payload is too big\. Please change 'tune\.cli\.max-payload-size'.*: the command is larger than its tune\.cli\.max-payload-size; set targets\[\]\.maxCommandBytes below it/
        : /deploy failed lineage=site target=edge .*error_code=RUNTIME_COMMAND_TOO_LARGE error="target edge \(HAProxy [^)]*\): \\"set ssl cert [^"]*site\.pem\\" is \d+ bytes and HAProxy (closed the connection without a reply|took the payload's lines and never answered|refused it: The command (line )?is too big for the buffer size[^:]*): the command is larger than its tune\.bufsize; set targets\[\]\.maxCommandBytes below it/,
    );
    expect(await readFile(join(haproxy.bundlesDir, 'site.pem'), 'utf8')).toBe(onDisk);
    expect((await probeServedCertificate(haproxy.port, 'site.test')).serial).toBe(served);
    expect(await haproxy.command('show ssl cert')).not.toContain('# transaction');
  });
});
