import { createPrivateKey } from 'node:crypto';
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CERTBOT_VERSIONS, TestCertbot } from '../helpers/certbot.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { runHotcert } from '../helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../helpers/hotcert-config.js';
import { startPebble, type TestPebble } from '../helpers/pebble.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';

const NAME = 'canary';
const DOMAIN = 'canary.test';
const KINDS = ['cert', 'privkey', 'chain', 'fullchain'] as const;

// What hotcert relies on from every certbot it may meet (DESIGN.md §2): if a certbot release changes any of it,
// this suite says so before the sync suites fail in stranger ways.
for (const version of CERTBOT_VERSIONS) {
  describe(`[certbot ${version}] canary: the layout certbot writes, and hotcert sync serving it`, () => {
    let temp: TempDir;
    let pebble: TestPebble;
    let certbot: TestCertbot;
    let haproxy: TestHaproxy;
    let configFile: string;

    const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

    async function expectLayout(version: number): Promise<void> {
      const live = join(certbot.liveDir, NAME);
      for (const kind of KINDS) {
        expect({ kind, target: await readlink(join(live, `${kind}.pem`)) }).toEqual({ kind, target: `../../archive/${NAME}/${kind}${version}.pem` });
      }
      expect(await mode(join(certbot.configDir, 'archive', NAME, `privkey${version}.pem`))).toBe(0o600);
      expect(await mode(join(certbot.configDir, 'live'))).toBe(0o700);
      expect(await mode(join(certbot.configDir, 'archive'))).toBe(0o700);
      const [cert, fullchain] = await Promise.all([readFile(join(live, 'cert.pem'), 'utf8'), readFile(join(live, 'fullchain.pem'), 'utf8')]);
      expect(fullchain.startsWith(cert)).toBe(true);
    }

    async function expectSyncServes(): Promise<void> {
      const result = await runHotcert(['sync', '--config', configFile], { HOTCERT_LOG_FORMAT: 'text' });
      expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
      expect((await probeServedCertificate(haproxy.port, DOMAIN)).serial).toBe(await certbot.liveSerial(NAME));
    }

    beforeAll(async () => {
      temp = await makeTempDir(`certbot-${version}`);
      pebble = await startPebble(temp.path);
      certbot = new TestCertbot(pebble, temp.path, { version });
      haproxy = await startHaproxy();
      configFile = await writeHotcertConfig(temp.path, { letsencryptDir: certbot.configDir, haproxy });
    });

    afterAll(async () => {
      await Promise.all([haproxy?.stop(), pebble?.stop()]);
      await temp?.remove();
    });

    it(`is certbot ${version}`, async () => {
      expect(await certbot.versionText()).toMatch(new RegExp(`^certbot ${version.replace('.', '\\.')}\\.\\d+$`));
    });

    it('issues a lineage: relative links into archive/ at version 1, privkey 0600, live/ and archive/ 0700', async () => {
      await certbot.issue({ name: NAME, domains: [DOMAIN], keyType: 'default' });
      await expectLayout(1);
    });

    it('chooses an ECDSA P-256 key in PKCS#8 when not told a key type', async () => {
      const pem = await readFile(join(certbot.liveDir, NAME, 'privkey.pem'), 'utf8');
      expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
      const key = createPrivateKey(pem);
      expect({ type: key.asymmetricKeyType, curve: key.asymmetricKeyDetails?.namedCurve }).toEqual({ type: 'ec', curve: 'prime256v1' });
    });

    it('hotcert sync serves the new lineage', async () => {
      await expectSyncServes();
    });

    it('renews it: the links move to version 2 with a new serial, in the same layout', async () => {
      const before = await certbot.liveSerial(NAME);
      await certbot.renew([NAME]);
      await expectLayout(2);
      expect(await certbot.liveSerial(NAME)).not.toBe(before);
    });

    it('hotcert sync serves the renewed certificate', async () => {
      await expectSyncServes();
    });
  });
}
