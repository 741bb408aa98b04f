import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DebianSuite } from '../helpers/debian-roots.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { packageRoot } from '../helpers/hotcert-cli.js';
import { writeHotcertConfig } from '../helpers/hotcert-config.js';
import { runHotcertInRoot, runRootNode } from '../helpers/hotcert-in-root.js';
import { makeIssuer, writeSyntheticLineage } from '../helpers/synthetic-lineages.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';

/** The Node versions hotcert supports besides the one the suite runs on, as Debian ships them. */
const NODES: readonly { readonly node: string; readonly suite: DebianSuite }[] = [
  { node: '20.19', suite: 'trixie' },
  { node: '24', suite: 'sid' },
];

for (const { node, suite } of NODES) {
  describe(`[node ${node}] canary: the built CLI under Debian ${suite}'s nodejs`, () => {
    let temp: TempDir;
    let haproxy: TestHaproxy;
    let configFile: string;
    let letsencryptDir: string;

    beforeAll(async () => {
      temp = await makeTempDir(`node-${node}`);
      letsencryptDir = join(temp.path, 'letsencrypt');
      await writeSyntheticLineage(letsencryptDir, await makeIssuer(), 'site', 1);
      haproxy = await startHaproxy();
      configFile = await writeHotcertConfig(temp.path, { letsencryptDir, haproxy });
    });

    afterAll(async () => {
      await haproxy?.stop();
      await temp?.remove();
    });

    it(`is node ${node}`, async () => {
      const result = await runRootNode(suite, ['--version']);
      expect(result).toMatchObject({ code: 0 });
      expect(result.stdout.trim().startsWith(`v${node}.`)).toBe(true);
    });

    it('sees the checkout at its own path, mounted read-only', async () => {
      // mountinfo fields: id, parent, dev, root, mount point, mount options, ...
      const probe = "process.stdout.write(require('fs').readFileSync('/proc/self/mountinfo', 'utf8'))";
      const result = await runRootNode(suite, ['-e', probe]);
      expect(result).toMatchObject({ code: 0 });
      const checkout = result.stdout.split('\n').map((line) => line.split(' ')).find((fields) => fields[4] === packageRoot());
      expect(checkout?.[5]?.split(',')).toContain('ro');
    });

    it('--version prints the package version', async () => {
      const { version } = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
      const result = await runHotcertInRoot(suite, ['--version']);
      expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 0, stdout: `hotcert ${version}\n`, stderr: '' });
    });

    it('sync exits 0 and HAProxy serves the lineage', async () => {
      const result = await runHotcertInRoot(suite, ['sync', '--config', configFile], { HOTCERT_LOG_FORMAT: 'text' });
      expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
      expect(result.stderr).toMatch(/ info +certificate added /);
      const expected = new X509Certificate(await readFile(join(letsencryptDir, 'live', 'site', 'cert.pem'))).serialNumber.toUpperCase();
      for (const host of ['site.bench', 'www.site.bench']) {
        expect({ host, serial: (await probeServedCertificate(haproxy.port, host)).serial }).toEqual({ host, serial: expected });
      }
    });
  });
}
