import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCertbot } from '../helpers/certbot.js';
import { DEFAULT_DOCKER_HAPROXY, docker, makeSharedHotcertDir, startHaproxyContainer, TLS_PORT, type HaproxyContainer } from '../helpers/docker.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';
import { startHotcertRun } from '../helpers/hotcert-cli.js';
import { startPebble, type TestPebble } from '../helpers/pebble.js';
import { startProcess, type TrackedProcess } from '../helpers/processes.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * A config whose one target is every container carrying `label`, reached over container TCP, runtime-only: the
 * containers do not mount hotcert's files and start with an empty crt-list of their own, so whatever they serve came
 * from hotcert through the runtime API.
 */
async function writeLabelTargetConfig(
  dir: string,
  certbot: TestCertbot,
  shared: { bundlesDir: string; crtListPath: string },
  label: string,
  extraLines: readonly string[],
): Promise<string> {
  const configFile = join(dir, 'hotcert.yaml');
  await writeFile(
    configFile,
    [
      `letsencrypt: { dir: ${certbot.configDir} }`,
      `bundles: { dir: ${shared.bundlesDir} }`,
      `crtList: { file: ${shared.crtListPath} }`,
      `state: { file: ${join(dir, 'state.json')} }`,
      'targets:',
      '  - name: edge',
      '    runtime: container-tcp:9999',
      '    runtimeOnly: true',
      `    docker: { label: "${label}" }`,
      '    crtList: /usr/local/etc/haproxy/conf/crt-list.txt',
      '    bundlesDir: /usr/local/etc/haproxy/certs',
      ...extraLines,
      '',
    ].join('\n'),
  );
  return configFile;
}

/**
 * `hotcert run` with a label target: every running container carrying the label is a target. The containers are
 * runtime-only (they do not mount hotcert's files and start with an empty crt-list), so whatever they serve came
 * from hotcert through the runtime API, and a container that restarts or reloads serves nothing until hotcert
 * resyncs it. The periodic target check is slowed to ten minutes: only Docker events can explain a quick resync.
 * On the HAProxy image as people pull it now (3.4, the official layout).
 */
describeEachHaproxy('hotcert run with containers found by label, driven by Docker events', (version) => {
  const prefix = `hotcert-d${process.pid}`;
  const label = `hotcert.test.group=${prefix}`;
  let temp: TempDir;
  let pebble: TestPebble;
  let certbot: TestCertbot;
  let daemon: TrackedProcess;
  const containers = new Map<string, HaproxyContainer>();

  const startMember = async (name: string): Promise<HaproxyContainer> => {
    const container = await startHaproxyContainer({ name: `${prefix}-${name}`, version, labels: [label] });
    containers.set(name, container);
    return container;
  };
  const served = async (container: HaproxyContainer, host: string): Promise<string | undefined> =>
    probeServedCertificate(TLS_PORT, host, 2000, await container.address()).then(
      (certificate) => certificate.serial,
      () => undefined,
    );
  const expectServedSoon = async (container: HaproxyContainer, lineage: string, host: string, timeoutMs = 15_000): Promise<void> => {
    const expected = await certbot.liveSerial(lineage);
    await waitFor(async () => (await served(container, host)) === expected, { timeoutMs, what: `${container.name} to serve ${host} with ${expected}` });
  };
  const waitForLog = async (pattern: RegExp, from: number, timeoutMs = 15_000): Promise<void> => {
    await waitFor(() => pattern.test(daemon.output().slice(from)), { timeoutMs, what: `hotcert to log ${pattern}` });
  };

  beforeAll(async () => {
    temp = await makeTempDir('docker-daemon');
    pebble = await startPebble(temp.path);
    certbot = new TestCertbot(pebble, temp.path);
    const shared = await makeSharedHotcertDir(temp.path);
    await startMember('one');
    await startMember('two');
    await certbot.issue({ name: 'site', domains: ['site.test'] });
    const configFile = await writeLabelTargetConfig(temp.path, certbot, shared, label, [
      'watch: { settleMs: 100, maxWaitMs: 1000, targetCheckIntervalMs: 600000 }',
    ]);
    daemon = startHotcertRun(configFile);
    await waitForLog(/hotcert running: first full sync attempted/, 0, 30_000);
  });

  afterAll(async () => {
    if (daemon?.isRunning()) await daemon.stop('SIGTERM', 5000);
    for (const container of containers.values()) await container.remove();
    await pebble?.stop();
    await temp?.remove();
  });

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) process.stdout.write(`--- hotcert run output\n${daemon.output()}\n`);
  });

  it('both containers carrying the label are targets and serve the lineage', async () => {
    await waitForLog(new RegExp(`certificate added.*target=edge/${prefix}-one`), 0);
    await waitForLog(new RegExp(`certificate added.*target=edge/${prefix}-two`), 0);
    for (const container of containers.values()) await expectServedSoon(container, 'site', 'site.test', 1000);
  });

  it('a renewal by certbot is served by both', async () => {
    await certbot.renew(['site']);
    for (const container of containers.values()) await expectServedSoon(container, 'site', 'site.test');
  });

  it('a stopped and started container (it lost every runtime change) is resynced on its start event', async () => {
    const from = daemon.output().length;
    const one = containers.get('one') as HaproxyContainer;
    // An open CLI session would hold HAProxy's graceful stop until Docker's timeout and its SIGKILL (exit 137).
    await docker('stop', '-t', '10', one.name);
    expect((await docker('inspect', '-f', '{{.State.ExitCode}}', one.name)).trim()).toBe('0');
    await docker('start', one.name);
    await waitForLog(new RegExp(`target container started; resyncing it.*target=edge/${one.name}`), from);
    await expectServedSoon(one, 'site', 'site.test');
  });

  it('a container started after hotcert is picked up and served', async () => {
    const from = daemon.output().length;
    const three = await startMember('three');
    await waitForLog(new RegExp(`container target found.*target=edge/${three.name}`), from);
    await expectServedSoon(three, 'site', 'site.test');
  });

  it('a reload signal someone else sends (docker kill -s USR2) is treated as a reload: the new worker is resynced', async () => {
    const from = daemon.output().length;
    const two = containers.get('two') as HaproxyContainer;
    const workerBefore = /Pid: (\d+)/.exec(await two.command('show info'))?.[1];
    await docker('kill', '-s', 'USR2', two.name);
    await waitForLog(new RegExp(`reload signal.*target=edge/${two.name}`), from);
    await expectServedSoon(two, 'site', 'site.test');
    expect(/Pid: (\d+)/.exec(await two.command('show info'))?.[1]).not.toBe(workerBefore);
  });

  it('a removed container stops being a target; the others keep being served', async () => {
    const from = daemon.output().length;
    const three = containers.get('three') as HaproxyContainer;
    await three.remove();
    containers.delete('three');
    await waitForLog(new RegExp(`container target removed.*target=edge/${three.name}`), from);
    await certbot.renew(['site']);
    for (const container of containers.values()) await expectServedSoon(container, 'site', 'site.test');
    expect(daemon.output().slice(from)).not.toMatch(new RegExp(`deploy failed.*${three.name}`));
  });
}, [DEFAULT_DOCKER_HAPROXY]);

/**
 * At boot hotcert can start before dockerd. Here the Docker API it is given answers only later (a socat relay to
 * the real socket, started after hotcert): the containers carrying the label must then be found and served.
 */
describeEachHaproxy('hotcert run started while Docker does not answer yet', (version) => {
  const prefix = `hotcert-l${process.pid}`;
  const label = `hotcert.test.group=${prefix}`;
  let temp: TempDir;
  let pebble: TestPebble;
  let certbot: TestCertbot;
  let daemon: TrackedProcess;
  let relay: TrackedProcess | undefined;
  let container: HaproxyContainer;

  beforeAll(async () => {
    temp = await makeTempDir('docker-late');
    pebble = await startPebble(temp.path);
    certbot = new TestCertbot(pebble, temp.path);
    const shared = await makeSharedHotcertDir(temp.path);
    container = await startHaproxyContainer({ name: `${prefix}-one`, version, labels: [label] });
    await certbot.issue({ name: 'late', domains: ['late.test'] });
    const configFile = await writeLabelTargetConfig(temp.path, certbot, shared, label, [`docker: { endpoint: "unix:${join(temp.path, 'docker.sock')}" }`]);
    daemon = startHotcertRun(configFile);
    await waitFor(() => /hotcert running: first full sync attempted/.test(daemon.output()), { timeoutMs: 30_000, what: 'hotcert to start' });
  });

  afterAll(async () => {
    if (daemon?.isRunning()) await daemon.stop('SIGTERM', 5000);
    await relay?.stop('SIGTERM', 2000);
    await container?.remove();
    await pebble?.stop();
    await temp?.remove();
  });

  it('starts, says Docker does not answer, and serves the label\'s containers once it does', async () => {
    expect(daemon.isRunning()).toBe(true);
    expect(daemon.output()).toMatch(/cannot ask Docker which containers carry the targets' labels; they are added once it answers/);
    relay = startProcess('docker socket relay', 'socat', [`UNIX-LISTEN:${join(temp.path, 'docker.sock')},fork`, 'UNIX-CONNECT:/var/run/docker.sock']);
    await waitFor(() => new RegExp(`container target found.*target=edge/${container.name}`).test(daemon.output()), { timeoutMs: 20_000, what: 'hotcert to find the container' });
    const expected = await certbot.liveSerial('late');
    await waitFor(
      async () => (await probeServedCertificate(TLS_PORT, 'late.test', 2000, await container.address()).then((certificate) => certificate.serial, () => undefined)) === expected,
      { timeoutMs: 15_000, what: `late.test to be served with ${expected}` },
    );
  });
}, [DEFAULT_DOCKER_HAPROXY]);
