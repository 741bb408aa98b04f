import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestCertbot } from '../helpers/certbot.js';
import type { TestHaproxy } from '../helpers/haproxy.js';
import { runHotcert, type CliResult } from '../helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../helpers/hotcert-config.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';

/** The names each lineage is issued for, as a user would run certbot. */
const LINEAGES = {
  site: { domains: ['site.test', 'www.site.test'], keyType: 'rsa' as const },
  ec: { domains: ['ec.test'], keyType: 'ecdsa' as const },
  // A wildcard and its apex; Certbot strips "*." so the lineage is named after the apex.
  'wild.test': { domains: ['wild.test', '*.wild.test'], keyType: 'ecdsa' as const },
};

describeEachHaproxy('hotcert sync: real certbot lineages into a real HAProxy', (version) => {
  let stack: TestStack;
  let certbot: TestCertbot;
  let haproxy: TestHaproxy;
  let configFile: string;
  const outputs: CliResult[] = [];

  const sync = async (...args: string[]): Promise<CliResult> => {
    const result = await runHotcert(['sync', '--config', configFile, ...args], { HOTCERT_LOG_FORMAT: 'text' });
    outputs.push(result);
    return result;
  };

  async function expectServed(name: string, host: string): Promise<string> {
    const expected = await certbot.liveSerial(name);
    expect({ host, serial: (await probeServedCertificate(haproxy.port, host)).serial }).toEqual({ host, serial: expected });
    return expected;
  }

  beforeAll(async () => {
    stack = await startStack('sync', { version });
    ({ certbot, haproxy } = stack);
    configFile = await writeHotcertConfig(stack.temp.path, { letsencryptDir: certbot.configDir, haproxy });
    for (const [name, lineage] of Object.entries(LINEAGES)) {
      await certbot.issue({ name, domains: lineage.domains, keyType: lineage.keyType });
    }
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('--dry-run prints the plan without payloads and touches nothing', async () => {
    const crtListBefore = await readFile(haproxy.crtListPath, 'utf8');
    const result = await sync('--dry-run');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n').sort();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^ec\tedge\twould add\twrite ${haproxy.bundlesDir}/ec.pem \\(\\d+ bytes\\); new ssl cert ${haproxy.bundlesDir}/ec.pem; set ssl cert ${haproxy.bundlesDir}/ec.pem <<\\(bundle, \\d+ bytes\\); commit ssl cert`));
    expect(lines[0]).toContain(`add ssl crt-list ${haproxy.crtListPath} <<(${haproxy.bundlesDir}/ec.pem)`);
    expect(await readdir(haproxy.bundlesDir)).toEqual([]);
    expect(await readFile(haproxy.crtListPath, 'utf8')).toBe(crtListBefore);
    expect((await haproxy.command('show ssl cert')).split('\n').filter((line) => line.startsWith(haproxy.bundlesDir))).toEqual([]);
    expect((await probeServedCertificate(haproxy.port, 'ec.test')).serial).toBe(haproxy.defaultCertificate?.serial);
  });

  it('adds every new lineage: each name is served in a TLS handshake, files written, crt-list in step', async () => {
    const result = await sync();
    expect(result.code).toBe(0);
    expect(result.stderr.match(/ info +certificate added /g)).toHaveLength(3);
    expect(result.stderr).toMatch(/sync finished: every target serves what the source holds lineages=3 targets=1 deployed=0 added=3 reloaded=0 unchanged=0/);
    for (const [name, lineage] of Object.entries(LINEAGES)) {
      for (const domain of lineage.domains) await expectServed(name, domain.replace('*', 'any'));
      const info = await stat(join(haproxy.bundlesDir, `${name}.pem`));
      expect(info.mode & 0o777).toBe(0o600);
      const details = await haproxy.command(`show ssl cert ${haproxy.bundlesDir}/${name}.pem`);
      expect(details).toMatch(/^Status: Used$/m);
    }
    const lines = (await readFile(haproxy.crtListPath, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe(haproxy.defaultCertificate?.bundlePath);
    expect(lines.slice(1).sort()).toEqual(Object.keys(LINEAGES).map((name) => `${haproxy.bundlesDir}/${name}.pem`).sort());
  });

  it('a second sync right after changes nothing and says so', async () => {
    const before = await Promise.all(Object.keys(LINEAGES).map((name) => stat(join(haproxy.bundlesDir, `${name}.pem`))));
    const crtList = await stat(haproxy.crtListPath);
    const result = await sync();
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/certificate (added|deployed)/);
    expect(result.stderr).toMatch(/every target serves what the source holds lineages=3 targets=1 deployed=0 added=0 reloaded=0 unchanged=3 not_ready=0 held=0 failed=0/);
    const after = await Promise.all(Object.keys(LINEAGES).map((name) => stat(join(haproxy.bundlesDir, `${name}.pem`))));
    expect(after.map((info) => info.mtimeMs)).toEqual(before.map((info) => info.mtimeMs));
    expect((await stat(haproxy.crtListPath)).mtimeMs).toBe(crtList.mtimeMs);
  });

  it('after certbot renew --force-renewal every lineage is hot-swapped to its new serial', async () => {
    const old = await Promise.all(Object.keys(LINEAGES).map((name) => certbot.liveSerial(name)));
    await certbot.renew();
    const pid = (await haproxy.command('show info')).match(/^Pid: (\d+)$/m)?.[1];
    const result = await sync();
    expect(result.code).toBe(0);
    expect(result.stderr.match(/ info +certificate deployed /g)).toHaveLength(3);
    const served = [await expectServed('site', 'www.site.test'), await expectServed('ec', 'ec.test'), await expectServed('wild.test', 'x.wild.test')];
    expect(served).not.toEqual(old);
    served.forEach((serial, index) => expect(serial).not.toBe(old[index]));
    // Hot: the same HAProxy worker serves them, no reload happened.
    expect((await haproxy.command('show info')).match(/^Pid: (\d+)$/m)?.[1]).toBe(pid);
  });

  it('certonly --expand with a new name: the same lineage is served for the new name too', async () => {
    await certbot.run([
      'certonly', '--manual', '--manual-auth-hook', 'true', '--preferred-challenges', 'http,dns', '--key-type', 'rsa',
      '--cert-name', 'site', '-d', 'site.test', '-d', 'www.site.test', '-d', 'new.site.test', '--expand',
    ]);
    const result = await sync();
    expect(result.code).toBe(0);
    await expectServed('site', 'new.site.test');
    const served = await probeServedCertificate(haproxy.port, 'new.site.test');
    expect(served.subjectAltName).toContain('DNS:new.site.test');
  });

  it('a restarted HAProxy serves the same certificates from hotcert\'s files', async () => {
    await haproxy.restart();
    await expectServed('site', 'new.site.test');
    await expectServed('ec', 'ec.test');
    await expectServed('wild.test', 'wild.test');
    const result = await sync();
    expect(result.stderr).toMatch(/unchanged=3/);
  });

  it('no private key or certificate text appears in anything hotcert printed', () => {
    expect(outputs.length).toBeGreaterThan(4);
    for (const output of outputs) {
      expect(output.stdout + output.stderr).not.toMatch(/BEGIN|PRIVATE KEY|END CERTIFICATE/);
    }
  });
});

describeEachHaproxy('hotcert sync writes bundles with the configured mode and group', (version) => {
  let stack: TestStack;

  afterAll(async () => {
    await stack?.stop();
  });

  it('a "0640" bundle in group haproxy, for an HAProxy that reads as user haproxy', async () => {
    stack = await startStack('sync-modes', { version });
    await stack.certbot.issue({ name: 'grp', domains: ['grp.test'] });
    const group = (await readFile('/etc/group', 'utf8')).split('\n').find((line) => line.startsWith('haproxy:'));
    const gid = Number(group?.split(':')[2]);
    const config = await writeHotcertConfig(stack.temp.path, { letsencryptDir: stack.certbot.configDir, haproxy: stack.haproxy });
    // Through the documented environment overrides, as a systemd drop-in or a container would set them.
    const result = await runHotcert(['sync', '--config', config], { HOTCERT_BUNDLES_MODE: '0640', HOTCERT_BUNDLES_GROUP: 'haproxy' });
    expect(result.code).toBe(0);
    const info = await stat(join(stack.haproxy.bundlesDir, 'grp.pem'));
    expect({ mode: info.mode & 0o777, gid: info.gid }).toEqual({ mode: 0o640, gid });
  });
});

describeEachHaproxy('hotcert sync with per-lineage crt-list options', (version) => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack('sync-options', { version });
    await stack.certbot.issue({ name: 'opts', domains: ['opts.test', 'www.opts.test'] });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  // HAProxy 2.6 prints an ALPN option with the NUL of its internal buffer ("[alpn h2\0]"): read as a space.
  const entryLines = async (): Promise<string[]> =>
    (await stack.haproxy.command(`show ssl crt-list ${stack.haproxy.crtListPath}`))
      .replace(/\0/g, ' ')
      .split('\n')
      .filter((line) => line.includes('opts.pem'));

  it('adds the line with its SSL options and SNI filters, then replaces it in place when they change', async () => {
    const path = `${stack.haproxy.bundlesDir}/opts.pem`;
    const first = await writeHotcertConfig(stack.temp.path, {
      letsencryptDir: stack.certbot.configDir,
      haproxy: stack.haproxy,
      extraLines: ['lineages: { opts: { sslOptions: "alpn h2", sniFilters: [opts.test] } }'],
    });
    expect((await runHotcert(['sync', '--config', first])).code).toBe(0);
    expect(await readFile(stack.haproxy.crtListPath, 'utf8')).toContain(`${path} [alpn h2] opts.test\n`);
    expect(await entryLines()).toEqual([`${path} [alpn h2 ] opts.test`]);
    // The filter limits the names: www.opts.test falls back to the default certificate.
    expect((await probeServedCertificate(stack.haproxy.port, 'www.opts.test')).serial).toBe(stack.haproxy.defaultCertificate?.serial);

    const second = await writeHotcertConfig(stack.temp.path, {
      name: 'second.yaml',
      letsencryptDir: stack.certbot.configDir,
      haproxy: stack.haproxy,
      extraLines: ['lineages: { opts: { sniFilters: [opts.test, www.opts.test] } }'],
    });
    const result = await runHotcert(['sync', '--config', second], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/certificate deployed lineage=opts/);
    const fileLines = (await readFile(stack.haproxy.crtListPath, 'utf8')).split('\n').filter((line) => line.includes('opts.pem'));
    expect(fileLines).toEqual([`${path} opts.test www.opts.test`]);
    expect(await entryLines()).toEqual([`${path} opts.test www.opts.test`]);
    expect((await probeServedCertificate(stack.haproxy.port, 'www.opts.test')).serial).toBe(await stack.certbot.liveSerial('opts'));
    // In step both ways: a restart loads the same.
    await stack.haproxy.restart();
    expect((await probeServedCertificate(stack.haproxy.port, 'www.opts.test')).serial).toBe(await stack.certbot.liveSerial('opts'));
  });
});
