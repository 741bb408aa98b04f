import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCertbot } from '../helpers/certbot.js';
import {
  buildSidecarImage,
  containerLogs,
  DEFAULT_DOCKER_HAPROXY,
  docker,
  HOTCERT_DIR_IN_CONTAINER,
  makeSharedHotcertDir,
  startHaproxyContainer,
  TEST_LABEL,
  TLS_PORT,
  type HaproxyContainer,
} from '../helpers/docker.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';
import { startPebble, type TestPebble } from '../helpers/pebble.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The image the Dockerfile builds, run as the README's sidecar: Certbot's directory read-only, hotcert's directory
 * shared with an HAProxy container (the official layout, uid 99), HAProxy's socket directory shared too. A renewal
 * certbot makes on the host must end up served by the HAProxy container (3.4, the official layout).
 */
describeEachHaproxy('the sidecar image: hotcert run in a container beside an HAProxy container', (version) => {
  const prefix = `hotcert-s${process.pid}`;
  const image = `hotcert-test/hotcert:${process.pid}`;
  let temp: TempDir;
  let pebble: TestPebble;
  let certbot: TestCertbot;
  let haproxy: HaproxyContainer;
  const sidecar = `${prefix}-hotcert`;

  const logs = (): Promise<string> => containerLogs(sidecar);
  const servedSerial = async (host: string): Promise<string | undefined> =>
    probeServedCertificate(TLS_PORT, host, 2000, await haproxy.address()).then(
      (certificate) => certificate.serial,
      () => undefined,
    );

  beforeAll(async () => {
    temp = await makeTempDir('docker-sidecar');
    pebble = await startPebble(temp.path);
    certbot = new TestCertbot(pebble, temp.path);
    const [shared] = await Promise.all([makeSharedHotcertDir(temp.path), buildSidecarImage(image)]);
    haproxy = await startHaproxyContainer({ name: `${prefix}-haproxy`, version, hotcertDir: shared.dir });
    await certbot.issue({ name: 'side', domains: ['side.test'] });
    const configDir = join(temp.path, 'hotcert-config');
    await mkdir(configDir);
    await writeFile(
      join(configDir, 'hotcert.yaml'),
      [
        // The sidecar mounts hotcert's directory where HAProxy does, so both name the files alike.
        `bundles: { dir: ${HOTCERT_DIR_IN_CONTAINER}/certs, group: 99, mode: "0640" }`,
        `crtList: { file: ${HOTCERT_DIR_IN_CONTAINER}/crt-list.txt }`,
        'targets:',
        '  - name: edge',
        '    runtime: unix:/run/haproxy/admin.sock',
        'watch: { settleMs: 100, maxWaitMs: 1000 }',
        '',
      ].join('\n'),
    );
    await docker(
      'run', '-d', '--name', sidecar, '--label', TEST_LABEL, '--restart', 'unless-stopped', '--health-interval', '1s', '--health-start-period', '1s',
      '-v', `${certbot.configDir}:/etc/letsencrypt:ro`,
      '-v', `${shared.dir}:${HOTCERT_DIR_IN_CONTAINER}`,
      '-v', `${haproxy.socketDir}:/run/haproxy`,
      '-v', `${configDir}:/etc/hotcert:ro`,
      image,
    );
    await waitFor(async () => /hotcert running: first full sync attempted/.test(await logs()), { timeoutMs: 30_000, what: 'the sidecar to finish its first sync' });
  });

  afterAll(async () => {
    await docker('rm', '-f', '-v', sidecar).catch(() => undefined);
    await haproxy?.remove();
    await pebble?.stop();
    await temp?.remove();
  });

  afterEach(async () => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) process.stdout.write(`--- sidecar logs\n${await logs()}\n`);
  });

  it('deploys the lineage that existed at its start into the HAProxy container', async () => {
    expect(await servedSerial('side.test')).toBe(await certbot.liveSerial('side'));
  });

  it('deploys a renewal made by certbot on the host within seconds, as a hot swap', async () => {
    const worker = /Pid: (\d+)/.exec(await haproxy.command('show info'))?.[1];
    await certbot.renew(['side']);
    const expected = await certbot.liveSerial('side');
    await waitFor(async () => (await servedSerial('side.test')) === expected, { timeoutMs: 15_000, what: `side.test to be served with ${expected}` });
    expect(/Pid: (\d+)/.exec(await haproxy.command('show info'))?.[1]).toBe(worker);
    // Info lines of a burst share a write and may follow the swap by up to the log's flush delay (50 ms).
    await waitFor(async () => /certificate deployed.*lineage=side/.test(await logs()), { timeoutMs: 5_000, what: 'hotcert to log the deploy of side' });
  });

  it('reports healthy through its HEALTHCHECK (liveness, /livez)', async () => {
    await waitFor(async () => (await docker('inspect', '-f', '{{.State.Health.Status}}', sidecar)).trim() === 'healthy', { timeoutMs: 20_000, what: 'the sidecar to be healthy' });
  });

  it('comes back after a SIGKILL (restart policy) and deploys the next renewal: the kernel released its lock', async () => {
    const pid = Number((await docker('inspect', '-f', '{{.State.Pid}}', sidecar)).trim());
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await docker('inspect', '-f', '{{.RestartCount}} {{.State.Running}}', sidecar)).trim() === '1 true', { timeoutMs: 30_000, what: 'the sidecar to be restarted' });
    await waitFor(async () => (await logs()).split('hotcert running: first full sync attempted').length === 3, { timeoutMs: 30_000, what: 'the restarted sidecar to finish its first sync' });
    expect(await logs()).not.toMatch(/another hotcert .* is writing to these targets/);
    await certbot.renew(['side']);
    const expected = await certbot.liveSerial('side');
    await waitFor(async () => (await servedSerial('side.test')) === expected, { timeoutMs: 15_000, what: `side.test to be served with ${expected} after the restart` });
  });

  it('stops cleanly on docker stop (SIGTERM): exit code 0, not killed', async () => {
    await docker('stop', '-t', '10', sidecar);
    expect((await docker('inspect', '-f', '{{.State.ExitCode}}', sidecar)).trim()).toBe('0');
    expect(await logs()).toMatch(/stopp/i);
  });
}, [DEFAULT_DOCKER_HAPROXY]);
