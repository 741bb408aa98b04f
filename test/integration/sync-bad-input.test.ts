import { mkdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestCertbot } from '../helpers/certbot.js';
import type { TestHaproxy } from '../helpers/haproxy.js';
import { runHotcert, type CliResult } from '../helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../helpers/hotcert-config.js';
import { makeTestLineage, writeLineage } from '../helpers/lineage-pems.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import type { TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';

/**
 * Bad input never disturbs what is serving: each problem is reported with the lineage and the file, the served
 * certificate stays, and every other lineage still deploys in the same run.
 */
describeEachHaproxy('hotcert sync with bad input', (version) => {
  let stack: TestStack;
  let temp: TempDir;
  let certbot: TestCertbot;
  let haproxy: TestHaproxy;
  let configFile: string;
  let victimSerial: string;
  let victimBundle: string;
  let result: CliResult;

  beforeAll(async () => {
    stack = await startStack('bad-input', { version });
    ({ temp, certbot, haproxy } = stack);
    // 4096 bytes per runtime command: an ECDSA bundle fits, an RSA 2048 one (with its chain) does not.
    configFile = await writeHotcertConfig(temp.path, { letsencryptDir: certbot.configDir, haproxy, targetLines: ['    maxCommandBytes: 4096'] });

    // A lineage that is served, then renewed by Certbot into a version whose certificate got corrupted.
    await certbot.issue({ name: 'victim', domains: ['victim.test'] });
    expect((await runHotcert(['sync', '--config', configFile])).code).toBe(0);
    victimSerial = await certbot.liveSerial('victim');
    victimBundle = await readFile(join(haproxy.bundlesDir, 'victim.pem'), 'utf8');
    await certbot.renew(['victim']);
    const cert2 = join(certbot.configDir, 'archive', 'victim', 'cert2.pem');
    const text = await readFile(cert2, 'utf8');
    await writeFile(cert2, text.slice(0, text.length / 2));

    const config = certbot.configDir;
    const [mismatchA, mismatchB, expired, plain] = await Promise.all([
      makeTestLineage(['mismatch.test']),
      makeTestLineage(['other.test']),
      makeTestLineage(['expired.test'], { startDate: '20200101000000Z', endDate: '20200301000000Z' }),
      makeTestLineage(['plain.test']),
    ]);
    await writeLineage(config, 'mismatch', { ...mismatchA, privkey: mismatchB.privkey });
    await writeLineage(config, 'expired', expired);
    await writeLineage(config, 'empty', { ...plain, chain: '' });
    await writeLineage(config, 'unreadable', plain);
    await unlink(join(config, 'archive', 'unreadable', 'privkey1.pem'));
    await mkdir(join(config, 'archive', 'unreadable', 'privkey1.pem'));
    await writeLineage(config, 'outside', plain);
    await writeFile(join(temp.path, 'stray-cert.pem'), plain.cert);
    await unlink(join(config, 'live', 'outside', 'cert.pem'));
    await symlink(join(temp.path, 'stray-cert.pem'), join(config, 'live', 'outside', 'cert.pem'));
    await writeLineage(config, 'bad;name', plain);
    // Too big for this target, and a good lineage that must still be added.
    await certbot.issue({ name: 'big', domains: ['big.test'], keyType: 'rsa' });
    await certbot.issue({ name: 'good', domains: ['good.test'] });

    result = await runHotcert(['sync', '--config', configFile], { HOTCERT_LOG_FORMAT: 'text' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  // Values with characters outside [A-Za-z0-9._:/@+-] are quoted in the text format.
  const failureLine = (lineage: string): string => {
    const field = /^[A-Za-z0-9._:/@+-]+$/.test(lineage) ? `lineage=${lineage} ` : `lineage=${JSON.stringify(lineage)} `;
    return result.stderr.split('\n').find((line) => line.includes(`deploy failed ${field}`)) ?? '';
  };

  it('exits 69 and still adds the good lineage in the same run', async () => {
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/certificate added lineage=good target=edge/);
    expect((await probeServedCertificate(haproxy.port, 'good.test')).serial).toBe(await certbot.liveSerial('good'));
    expect(result.stderr).toMatch(/sync finished: not everything is in sync lineages=9 targets=1 deployed=0 added=1 reloaded=0 unchanged=0 not_ready=0 held=0 failed=8/);
  });

  it.each<[string, RegExp]>([
    ['victim', /error_code=LINEAGE_INVALID error="lineage victim: live\/victim\/cert\.pem (does not hold exactly one PEM certificate|is not a valid certificate)" file=live\/victim\/cert\.pem/],
    ['mismatch', /error="lineage mismatch: live\/mismatch\/privkey\.pem does not match the certificate in live\/mismatch\/cert\.pem"/],
    ['expired', /error="lineage expired: the certificate in live\/expired\/cert\.pem expired at 2020-03-01T00:00:00\.000Z"/],
    ['empty', /error="lineage empty: live\/empty\/chain\.pem is empty"/],
    ['unreadable', /error="lineage unreadable: live\/unreadable\/privkey\.pem \(\S+privkey1\.pem\) is a directory, not a regular file"/],
    ['outside', /error="lineage outside: live\/outside\/cert\.pem resolves to .*stray-cert\.pem, outside the letsencrypt directory"/],
    ['big', /error_code=BUNDLE_TOO_LARGE error="lineage big: \\"set ssl cert\\" with this bundle is \d+ bytes; target edge takes at most 4096/],
    ['bad;name', /its name has characters hotcert does not put into an HAProxy command/],
  ])('names the problem of lineage %s', (lineage, expected) => {
    expect(failureLine(lineage)).toMatch(expected);
  });

  it('keeps serving what was served, and keeps its bundle on disk', async () => {
    expect((await probeServedCertificate(haproxy.port, 'victim.test')).serial).toBe(victimSerial);
    expect(await readFile(join(haproxy.bundlesDir, 'victim.pem'), 'utf8')).toBe(victimBundle);
    for (const name of ['mismatch', 'expired', 'empty', 'unreadable', 'outside', 'big']) {
      expect(await haproxy.command(`show ssl cert ${haproxy.bundlesDir}/${name}.pem`)).toMatch(/Not found/);
    }
    const crtList = await readFile(haproxy.crtListPath, 'utf8');
    expect(crtList.trimEnd().split('\n').slice(1).sort()).toEqual([`${haproxy.bundlesDir}/good.pem`, `${haproxy.bundlesDir}/victim.pem`]);
  });

  it('prints no key or certificate text', () => {
    expect(result.stdout + result.stderr).not.toMatch(/BEGIN|PRIVATE KEY|MII/);
  });

  it('an unreachable target fails with its address, and the reachable one still deploys', async () => {
    await rm(join(certbot.configDir, 'live', 'bad;name'), { recursive: true });
    const file = await writeHotcertConfig(temp.path, {
      name: 'two-targets.yaml',
      letsencryptDir: certbot.configDir,
      haproxy,
      targetLines: [`  - { name: gone, runtime: "unix:${temp.path}/gone.sock", runtimeOnly: true }`],
    });
    await certbot.issue({ name: 'late', domains: ['late.test'] });
    const run = await runHotcert(['sync', '--config', file], { HOTCERT_LOG_FORMAT: 'text' });
    expect(run.code).toBe(69);
    expect(run.stderr).toMatch(new RegExp(`target cannot be deployed to target=gone error_code=RUNTIME_UNREACHABLE error="cannot reach runtime API unix:${temp.path}/gone.sock: no socket at`));
    expect(run.stderr).toMatch(/target is runtime-only: HAProxy there cannot read hotcert's files, so every swap is lost at its next reload target=gone/);
    expect(run.stderr).toMatch(/certificate added lineage=late target=edge/);
    expect((await probeServedCertificate(haproxy.port, 'late.test')).serial).toBe(await certbot.liveSerial('late'));
  });
});
