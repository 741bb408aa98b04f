import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../helpers/atomic-writer.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { describeEachHaproxy, type HaproxyVersion } from '../helpers/haproxy-versions.js';
import { runHotcert, startHotcertRun } from '../helpers/hotcert-cli.js';
import { expectInvariants } from '../helpers/invariants.js';
import { makeTestLineage, writeLineage, type TestLineagePems } from '../helpers/lineage-pems.js';
import type { TrackedProcess } from '../helpers/processes.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';
import { canonicalSerial } from '../../src/core/serial.js';

/** A kubernetes.io/tls Secret's data, as cert-manager writes it: tls.crt is the leaf and its chain. */
function tlsSecret(pems: TestLineagePems): { 'tls.crt': string; 'tls.key': string; 'ca.crt': string } {
  return { 'tls.crt': pems.fullchain, 'tls.key': pems.privkey, 'ca.crt': pems.chain };
}

/** The same Secrets as the items of one projected volume: `<name>/tls.crt`, `<name>/tls.key`. */
function projected(secrets: Record<string, TestLineagePems>): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets).flatMap(([name, pems]) => [[`${name}/tls.crt`, pems.fullchain], [`${name}/tls.key`, pems.privkey]]));
}

describeEachHaproxy('Kubernetes TLS Secrets as written by kubelet, both volume shapes at once beside an empty Certbot directory', (version: HaproxyVersion) => {
  let temp: TempDir;
  let haproxy: TestHaproxy;
  let file: string;
  let secretsDir: string;
  let projectedDir: string;
  let daemon: TrackedProcess | undefined;
  const projectedSecrets: Record<string, TestLineagePems> = {};

  const served = async (host: string): Promise<string> => canonicalSerial((await probeServedCertificate(haproxy.port, host)).serial);
  const expectServedSoon = async (host: string, pems: TestLineagePems): Promise<void> => {
    await waitFor(async () => (await served(host)) === canonicalSerial(pems.serial), { timeoutMs: 10_000, what: `${host} to be served with its new certificate` });
  };

  beforeAll(async () => {
    temp = await makeTempDir('kubernetes');
    haproxy = await startHaproxy({ version, strictSni: true });
    secretsDir = join(temp.path, 'secrets');
    projectedDir = join(temp.path, 'projected');
    const letsencrypt = join(temp.path, 'letsencrypt');
    await mkdir(join(secretsDir, 'alpha-tls'), { recursive: true });
    await mkdir(projectedDir, { recursive: true });
    await mkdir(join(letsencrypt, 'live'), { recursive: true });
    await writeAtomically(join(secretsDir, 'alpha-tls'), tlsSecret(await makeTestLineage(['alpha.test'])));
    projectedSecrets['beta-tls'] = await makeTestLineage(['beta.test']);
    projectedSecrets['gamma-tls'] = await makeTestLineage(['gamma.test']);
    await writeAtomically(projectedDir, projected(projectedSecrets));
    file = join(temp.path, 'hotcert.yaml');
    await writeFile(
      file,
      [
        `letsencrypt: { dir: ${letsencrypt} }`,
        `kubernetes: { secretDirs: [${secretsDir}, ${projectedDir}] }`,
        `bundles: { dir: ${haproxy.bundlesDir} }`,
        `crtList: { file: ${haproxy.crtListPath} }`,
        `state: { file: ${join(temp.path, 'state.json')} }`,
        'targets:',
        `  - { name: edge, runtime: "unix:${haproxy.socketPath}" }`,
        'watch: { settleMs: 50, maxWaitMs: 500 }',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await daemon?.stop('SIGTERM', 10_000);
    await haproxy?.stop();
    await temp?.remove();
  });

  it('check-config names both directories and their shapes', async () => {
    const result = await runHotcert(['check-config', '--config', file]);
    expect(result.stdout).toContain(`${secretsDir}: readable, 1 Secret (a volume per Secret)`);
    expect(result.stdout).toContain(`${projectedDir}: readable, 2 Secrets (a projected volume)`);
  });

  it('a first sync serves every Secret, each under its directory\'s name', async () => {
    const result = await runHotcert(['sync', '--config', file], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(0);
    for (const name of ['alpha-tls', 'beta-tls', 'gamma-tls']) expect(result.stderr).toMatch(new RegExp(`certificate added lineage=${name} target=edge`));
    expect(await served('beta.test')).toBe(canonicalSerial(projectedSecrets['beta-tls']?.serial as string));
  });

  it('the daemon deploys a rotation with a new key (rotationPolicy: Always) within seconds of the ..data swap', async () => {
    daemon = startHotcertRun(file);
    await waitFor(() => daemon?.output().includes('hotcert running'), { timeoutMs: 20_000, what: 'the daemon to start' });
    expect(daemon.output()).toMatch(/watching the source for changes source=certbot\+kubernetes watches=\d+/);
    const rotated = await makeTestLineage(['alpha.test']);
    await writeAtomically(join(secretsDir, 'alpha-tls'), tlsSecret(rotated));
    await expectServedSoon('alpha.test', rotated);
    projectedSecrets['beta-tls'] = await makeTestLineage(['beta.test']);
    await writeAtomically(projectedDir, projected(projectedSecrets));
    await expectServedSoon('beta.test', projectedSecrets['beta-tls'] as TestLineagePems);
  });

  it('a Secret added to the projected volume is served; one dropped from it is reported and left serving', async () => {
    const output = (): string => daemon?.output() ?? '';
    projectedSecrets['delta-tls'] = await makeTestLineage(['delta.test']);
    delete projectedSecrets['gamma-tls'];
    const gamma = await served('gamma.test');
    await writeAtomically(projectedDir, projected(projectedSecrets));
    await expectServedSoon('delta.test', projectedSecrets['delta-tls'] as TestLineagePems);
    await waitFor(() => /lineage deleted from the source; HAProxy keeps serving its certificate .*lineage=gamma-tls target=edge/.test(output()), { timeoutMs: 10_000, what: 'the removal to be reported' });
    expect(await served('gamma.test')).toBe(gamma);
  });

  it('a mismatched key is refused, naming the Secret; what was served stays', async () => {
    const before = await served('alpha.test');
    const other = await makeTestLineage(['other.test']);
    const mark = daemon?.output().length ?? 0;
    await writeAtomically(join(secretsDir, 'alpha-tls'), { ...tlsSecret(await makeTestLineage(['alpha.test'])), 'tls.key': other.privkey });
    await waitFor(() => /deploy failed lineage=alpha-tls target=edge .*error_code=SECRET_INVALID error="Secret alpha-tls \(\S+secrets\): tls\.key does not match the certificate in tls\.crt"/.test(daemon?.output().slice(mark) ?? ''), { timeoutMs: 10_000, what: 'the refusal' }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${daemon?.output().slice(mark)}`);
    });
    expect(await served('alpha.test')).toBe(before);
  });

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts && daemon) process.stdout.write(`--- hotcert run output\n${daemon.output()}\n`);
  });

  it('a name both sources define is refused, naming both', async () => {
    await daemon?.stop('SIGTERM', 10_000);
    daemon = undefined;
    await writeLineage(join(temp.path, 'letsencrypt'), 'beta-tls', await makeTestLineage(['beta.test']));
    const result = await runHotcert(['sync', '--config', file, 'beta-tls'], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/lineage \\"beta-tls\\": both Certbot's live directory \S+ and Kubernetes Secrets in .+ define it; rename one of them/);
  });

  it('an HAProxy restart serves the same from hotcert\'s files', async () => {
    await expectInvariants(haproxy);
  });
}, ['2.6', '3.4']);
