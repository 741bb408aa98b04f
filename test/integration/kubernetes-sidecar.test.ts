import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { writeAtomically } from '../helpers/atomic-writer.js';
import { buildSidecarImage, containerLogs, docker, haproxyImage, HAPROXY_UID, REPO_ROOT, TEST_LABEL } from '../helpers/docker.js';
import { makeTestLineage, type TestLineagePems } from '../helpers/lineage-pems.js';
import { runCommand } from '../helpers/processes.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';
import { canonicalSerial } from '../../src/core/serial.js';

/** The example Deployment's two files, as its ConfigMap holds them. */
async function configMapFiles(): Promise<{ hotcert: string; haproxy: string }> {
  const documents = parseAllDocuments(await readFile(join(REPO_ROOT, 'config', 'kubernetes', 'configmap.yaml'), 'utf8'));
  const data = (documents[0]?.toJS() as { data: Record<string, string> }).data;
  return { hotcert: data['hotcert.yaml'] as string, haproxy: data['haproxy.cfg'] as string };
}

/**
 * The sidecar image as the example Deployment runs it, next to HAProxy 3.4 in the official layout: both as uid/gid
 * 99, hotcert on a read-only root file system with no capability, the Secrets as a projected volume written the way
 * kubelet writes it (mode 0440, group 99 as fsGroup makes it), hotcert's files and HAProxy's socket on shared
 * directories (the emptyDirs), the configuration from config/kubernetes/configmap.yaml as it is.
 */
describe('the sidecar image on a pod\'s layout: uid 99, read-only root, Secrets projected beside HAProxy 3.4', () => {
  const prefix = `hotcert-k${process.pid}`;
  const image = `hotcert-test/hotcert:${process.pid}`;
  let temp: TempDir;
  let secrets: string;
  const pairs: Record<string, TestLineagePems> = {};

  const servedSerial = async (host: string): Promise<string | undefined> => {
    const address = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', `${prefix}-haproxy`)).trim();
    return probeServedCertificate(8443, host, 2000, address).then((certificate) => canonicalSerial(certificate.serial), () => undefined);
  };

  // kubelet's write with fsGroup 99: files 0440 (the Deployment's defaultMode), group 99, before the swap.
  const writeSecrets = async (): Promise<void> => {
    const payload = Object.fromEntries(Object.entries(pairs).flatMap(([name, pems]) => [[`${name}/tls.crt`, { content: pems.fullchain, mode: 0o440 }], [`${name}/tls.key`, { content: pems.privkey, mode: 0o440 }]]));
    await writeAtomically(secrets, payload, {
      onStep: async (step, state) => {
        if (step === 'payload-written') await runCommand('chown', ['-R', `0:${HAPROXY_UID}`, join(secrets, state.newDir)]);
      },
    });
  };

  beforeAll(async () => {
    temp = await makeTempDir('kubernetes-sidecar');
    secrets = join(temp.path, 'secrets');
    const files = join(temp.path, 'hotcert-files');
    const run = join(temp.path, 'haproxy-run');
    const config = join(temp.path, 'config');
    for (const dir of [secrets, files, run, config]) await mkdir(dir, { recursive: true });
    // emptyDirs with fsGroup 99: the group's, writable by it.
    for (const dir of [files, run]) {
      await chown(dir, 0, HAPROXY_UID);
      await chmod(dir, 0o2770);
    }
    await chmod(temp.path, 0o755);
    pairs['example-com-tls'] = await makeTestLineage(['example.com', 'www.example.com']);
    pairs['example-org-tls'] = await makeTestLineage(['example.org']);
    await writeSecrets();
    const { hotcert, haproxy } = await configMapFiles();
    await writeFile(join(config, 'hotcert.yaml'), hotcert);
    await writeFile(join(config, 'haproxy.cfg'), haproxy);
    const [haproxyTag] = await Promise.all([haproxyImage('3.4', 'perl'), buildSidecarImage(image)]);

    // The native sidecar first: HAProxy starts once hotcert made the empty crt-list (the startup probe's order).
    await docker(
      'run', '-d', '--name', `${prefix}-hotcert`, '--label', TEST_LABEL,
      '--user', `${HAPROXY_UID}:${HAPROXY_UID}`, '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '-e', 'HOTCERT_CONFIG=/etc/hotcert/config/hotcert.yaml', '-e', 'HOTCERT_METRICS_LISTEN=0.0.0.0:9639',
      '-v', `${config}:/etc/hotcert/config:ro`, '-v', `${secrets}:/etc/hotcert/secrets:ro`,
      '-v', `${files}:/etc/hotcert-files`, '-v', `${run}:/var/run/haproxy`,
      image,
    );
    await waitFor(async () => (await runCommand('test', ['-e', join(files, 'crt-list.txt')])).code === 0, { timeoutMs: 30_000, what: 'hotcert to create the crt-list' });
    await docker(
      'run', '-d', '--name', `${prefix}-haproxy`, '--label', TEST_LABEL,
      '--user', `${HAPROXY_UID}:${HAPROXY_UID}`, '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '-v', `${config}/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro`,
      '-v', `${files}:/etc/hotcert-files:ro`, '-v', `${run}:/var/run/haproxy`,
      haproxyTag,
    );
  });

  afterAll(async () => {
    for (const name of [`${prefix}-hotcert`, `${prefix}-haproxy`]) await docker('rm', '-f', '-v', name).catch(() => undefined);
    await temp?.remove();
  });

  afterEach(async () => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) process.stdout.write(`--- sidecar logs\n${await containerLogs(`${prefix}-hotcert`)}\n--- haproxy\n${await containerLogs(`${prefix}-haproxy`)}\n`);
  });

  it('serves every Secret of the projected volume once HAProxy answers', async () => {
    for (const [name, host] of [['example-com-tls', 'www.example.com'], ['example-org-tls', 'example.org']] as const) {
      await waitFor(async () => (await servedSerial(host)) === canonicalSerial(pairs[name]?.serial as string), { timeoutMs: 30_000, what: `${host} to be served` });
    }
    const status = await docker('exec', `${prefix}-hotcert`, 'hotcert', 'status').catch((error: Error) => error.message);
    expect(status.split('\n')[0]).toMatch(/^HOTCERT OK - 2 certificates in sync on 1 target; daemon running/);
  });

  it('serves a rotation with a new key (cert-manager\'s rotationPolicy: Always) after kubelet\'s ..data swap', async () => {
    pairs['example-com-tls'] = await makeTestLineage(['example.com', 'www.example.com']);
    await writeSecrets();
    await waitFor(async () => (await servedSerial('example.com')) === canonicalSerial(pairs['example-com-tls']?.serial as string), { timeoutMs: 15_000, what: 'the rotation to be served' });
    // An info line may follow the swap it reports by the log's flush delay (50 ms), so the log is polled.
    await waitFor(async () => /certificate deployed lineage=example-com-tls target=haproxy/.test(await containerLogs(`${prefix}-hotcert`)), { timeoutMs: 5_000, what: 'hotcert to log the deploy' });
  });

  it('hotcert\'s files are readable by HAProxy\'s uid 99 (a restart of HAProxy serves them)', async () => {
    await docker('restart', '-t', '5', `${prefix}-haproxy`);
    await waitFor(async () => (await servedSerial('example.com')) === canonicalSerial(pairs['example-com-tls']?.serial as string), { timeoutMs: 30_000, what: 'the restarted HAProxy to serve from hotcert\'s files' });
  });
});
