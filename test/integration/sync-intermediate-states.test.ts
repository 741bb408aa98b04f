import { mkdir, rm, symlink, truncate, unlink, writeFile, copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestCertbot } from '../helpers/certbot.js';
import type { TestHaproxy } from '../helpers/haproxy.js';
import { runHotcert } from '../helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../helpers/hotcert-config.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';

const KINDS = ['cert', 'privkey', 'chain', 'fullchain'] as const;
type Kind = (typeof KINDS)[number];

/**
 * Certbot's intermediate states (storage.py; DESIGN.md §2), frozen on disk from a real lineage that has archive
 * versions 1 and 2: HAProxy serves version 1, and no state may make hotcert deploy anything half-way.
 */
describeEachHaproxy('hotcert sync never deploys a lineage Certbot is still writing', (version) => {
  let stack: TestStack;
  let certbot: TestCertbot;
  let haproxy: TestHaproxy;
  let configFile: string;
  let servedSerial: string;

  const live = (file: string): string => join(certbot.liveDir, 'site', file);
  const pointAt = async (versions: Record<Kind, number>): Promise<void> => {
    for (const kind of KINDS) {
      await rm(live(`${kind}.pem`), { force: true });
      await symlink(`../../archive/site/${kind}${versions[kind]}.pem`, live(`${kind}.pem`));
    }
  };
  const all = (version: number): Record<Kind, number> => ({ cert: version, privkey: version, chain: version, fullchain: version });
  const sync = () => runHotcert(['sync', '--config', configFile], { HOTCERT_LOG_FORMAT: 'text' });

  beforeAll(async () => {
    stack = await startStack('states', { version });
    ({ certbot, haproxy } = stack);
    configFile = await writeHotcertConfig(stack.temp.path, { letsencryptDir: certbot.configDir, haproxy });
    await certbot.issue({ name: 'site', domains: ['site.test'] });
    expect((await sync()).code).toBe(0);
    servedSerial = await certbot.liveSerial('site');
    await certbot.renew(['site']);
    // Certbot has written version 2; put the links back on 1 as if it had not flipped them yet.
    await pointAt(all(1));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  afterEach(async () => {
    await pointAt(all(1));
    for (const kind of KINDS) await rm(live(`previous_${kind}.pem`), { force: true });
    await rm(join(certbot.configDir, '.certbot.lock'), { force: true });
  });

  async function expectNotReady(reason: RegExp): Promise<void> {
    const result = await sync();
    expect(result.stderr).toMatch(/lineage not ready lineage=site target=edge outcome=not-ready/);
    expect(result.stderr).toMatch(reason);
    expect(result.code).toBe(75);
    expect((await probeServedCertificate(haproxy.port, 'site.test')).serial).toBe(servedSerial);
  }

  it('links on mixed versions (cert flipped to 2, the rest still on 1)', async () => {
    await pointAt({ cert: 2, privkey: 1, chain: 1, fullchain: 1 });
    await expectNotReady(/links point at different versions \(cert 2, privkey 1, chain 1, fullchain 1\)/);
  });

  it('a link missing between its unlink and its symlink', async () => {
    await pointAt({ cert: 2, privkey: 1, chain: 1, fullchain: 1 });
    await unlink(live('privkey.pem'));
    await expectNotReady(/live\/site\/privkey\.pem is missing/);
  });

  it('all four links on 2 but previous_*.pem still present', async () => {
    await pointAt(all(2));
    for (const kind of KINDS) await symlink(join(certbot.configDir, 'archive', 'site', `${kind}1.pem`), live(`previous_${kind}.pem`));
    await expectNotReady(/Certbot is switching its links \(previous_cert\.pem, previous_chain\.pem/);
  });

  it('a first issuance with dangling links is not added', async () => {
    const fresh = join(certbot.liveDir, 'fresh');
    await mkdir(fresh);
    for (const kind of KINDS) await symlink(`../../archive/fresh/${kind}1.pem`, join(fresh, `${kind}.pem`));
    try {
      const result = await sync();
      expect(result.code).toBe(75);
      expect(result.stderr).toMatch(/lineage not ready lineage=fresh .*reason="live\/fresh\/cert\.pem points at \.\.\/\.\.\/archive\/fresh\/cert1\.pem, which does not exist yet"/);
      expect(await haproxy.command(`show ssl cert ${haproxy.bundlesDir}/fresh.pem`)).toMatch(/Not found/);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('a 0-byte file written through its link while Certbot holds its lock', async () => {
    const archive = join(certbot.configDir, 'archive', 'site');
    await copyFile(join(archive, 'cert2.pem'), join(archive, 'cert3.pem'));
    for (const kind of ['privkey', 'chain', 'fullchain'] as const) await copyFile(join(archive, `${kind}2.pem`), join(archive, `${kind}3.pem`));
    await truncate(join(archive, 'fullchain3.pem'), 0);
    await writeFile(join(certbot.configDir, '.certbot.lock'), '');
    await pointAt(all(3));
    try {
      await expectNotReady(/live\/site\/fullchain\.pem is empty while Certbot is running/);
    } finally {
      for (const kind of KINDS) await rm(join(archive, `${kind}3.pem`), { force: true });
    }
  });

  it('once Certbot is done (all on 2, no previous_*), the new certificate is deployed', async () => {
    await pointAt(all(2));
    const result = await sync();
    expect(result.code).toBe(0);
    const serial = await certbot.liveSerial('site');
    expect(serial).not.toBe(servedSerial);
    expect((await probeServedCertificate(haproxy.port, 'site.test')).serial).toBe(serial);
    expect(await readFile(join(haproxy.bundlesDir, 'site.pem'), 'utf8')).toContain(
      (await readFile(join(certbot.configDir, 'archive', 'site', 'cert2.pem'), 'utf8')).split('\n')[1],
    );
    servedSerial = serial;
  });
});
