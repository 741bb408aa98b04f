import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCertbot } from '../helpers/certbot.js';
import {
  containerTargetLines,
  docker,
  DOCKER_HAPROXY_VERSIONS,
  type DockerHaproxyVersion,
  type ExecClient,
  HAPROXY_IMAGE_CLIENTS,
  type HaproxyContainer,
  HOTCERT_DIR_IN_CONTAINER,
  makeSharedHotcertDir,
  startHaproxyContainer,
  TEST_LABEL,
  TLS_PORT,
  writeContainerTargetsConfig,
} from '../helpers/docker.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';
import { runHotcert, startHotcertRun, type CliResult } from '../helpers/hotcert-cli.js';
import { startPebble, type TestPebble } from '../helpers/pebble.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';

/** One container per way hotcert reaches a runtime API; `exec` ones are named after the client they run. */
interface Role {
  readonly role: string;
  /** The image variant the container runs. */
  readonly client: ExecClient;
  readonly runtime: (container: HaproxyContainer) => string;
}

/**
 * The transports a series is tested through: the shared socket and container TCP on its default image, and exec of
 * every client one of its images carries (2.6: socat and perl; 3.4, the official layout: the perl relay only).
 */
function rolesFor(version: DockerHaproxyVersion): Role[] {
  const clients = HAPROXY_IMAGE_CLIENTS[version];
  const main = clients[0] as ExecClient;
  return [
    { role: 'shared', client: main, runtime: (container) => `unix:${container.socketPath}` },
    { role: 'tcp', client: main, runtime: () => 'container-tcp:9999' },
    ...clients.map((client) => ({ role: client, client, runtime: () => 'exec:/var/run/haproxy/admin.sock' })),
  ];
}

/**
 * HAProxy in containers laid out like the official image (uid 99), reached each way hotcert offers: the socket on a
 * shared directory, a TCP socket on the container's address (looked up through the Docker API), and docker exec
 * of socat or, in an image without socat (the official 3.4 one), perl. Real certbot lineages, real TLS handshakes
 * against the containers. On HAProxy 2.6 (Debian 12's) and 3.4 (the newest LTS).
 */
describeEachHaproxy('hotcert sync to HAProxy containers, through each transport', (version) => {
  const roles = rolesFor(version);
  const names = roles.map((entry) => entry.role);
  const execClients = roles.filter((entry) => entry.role === entry.client).map((entry) => entry.client);
  const transports = ['unix socket', 'container-tcp', ...execClients.map((client) => `exec ${client}`)].join(', ');
  const prefix = `hotcert-t${process.pid}-${version.replace('.', '')}`;
  let temp: TempDir;
  let pebble: TestPebble;
  let certbot: TestCertbot;
  let shared: Awaited<ReturnType<typeof makeSharedHotcertDir>>;
  const containers: Record<string, HaproxyContainer> = {};
  const outputs: CliResult[] = [];

  const writeConfig = (file: string, targets: readonly string[]): Promise<string> =>
    writeContainerTargetsConfig(join(temp.path, file), certbot.configDir, shared, targets);
  const containerTarget = containerTargetLines;
  let configFile: string;

  const hotcert = async (...args: string[]): Promise<CliResult> => {
    const result = await runHotcert(args, { HOTCERT_LOG_FORMAT: 'text' });
    outputs.push(result);
    return result;
  };
  const servedBy = async (container: HaproxyContainer, host: string): Promise<string> =>
    (await probeServedCertificate(TLS_PORT, host, 5000, await container.address())).serial;
  const roleContainers = (): [string, HaproxyContainer][] => names.map((role) => [role, containers[role] as HaproxyContainer]);
  const workerPids = (): Promise<(string | undefined)[]> =>
    Promise.all(roleContainers().map(async ([, container]) => /Pid: (\d+)/.exec(await container.command('show info'))?.[1]));

  beforeAll(async () => {
    temp = await makeTempDir(`docker-targets-${version}`);
    pebble = await startPebble(temp.path);
    certbot = new TestCertbot(pebble, temp.path);
    shared = await makeSharedHotcertDir(temp.path);
    for (const { role, client } of roles) {
      containers[role] = await startHaproxyContainer({ name: `${prefix}-${role}`, version, client, hotcertDir: shared.dir });
    }
    configFile = await writeConfig(
      'hotcert.yaml',
      roles.flatMap(({ role, runtime }) => containerTarget(role, `${prefix}-${role}`, runtime(containers[role] as HaproxyContainer))),
    );
    await certbot.issue({ name: 'site', domains: ['site.test', 'www.site.test'] });
  });

  afterAll(async () => {
    for (const container of Object.values(containers)) await container.remove();
    await pebble?.stop();
    await temp?.remove();
  });

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) {
      for (const result of outputs) process.stdout.write(`--- hotcert exit ${result.code}\n${result.stdout}${result.stderr}\n`);
    }
    outputs.length = 0;
  });

  it('check-config: every container is reached, and its HAProxy (uid 99) can read the crt-list hotcert writes', async () => {
    const result = await hotcert('check-config', '--config', configFile);
    expect(result.code).toBe(0);
    for (const role of names) {
      expect(result.stdout).toMatch(new RegExp(`target ${role}.*HAProxy ${version.replace('.', '\\.')}`));
      expect(result.stdout).toContain(`container ${prefix}-${role} (user haproxy) reads the crt-list ${HOTCERT_DIR_IN_CONTAINER}/crt-list.txt`);
    }
  });

  it(`sync adds a new lineage to every container, each transport (${transports}), and each serves it in a TLS handshake`, async () => {
    const result = await hotcert('sync', '--config', configFile);
    expect(result.code).toBe(0);
    const expected = await certbot.liveSerial('site');
    for (const [role, container] of roleContainers()) {
      expect({ role, serial: await servedBy(container, 'www.site.test') }).toEqual({ role, serial: expected });
    }
    expect(result.stderr.match(/certificate added/g)).toHaveLength(roles.length);
  });

  it(`sync hot-swaps a renewal into every container, each transport (${transports}): same worker, no reload`, async () => {
    const workers = await workerPids();
    await certbot.renew(['site']);
    const result = await hotcert('sync', '--config', configFile);
    expect(result.code).toBe(0);
    const expected = await certbot.liveSerial('site');
    for (const [role, container] of roleContainers()) {
      expect({ role, serial: await servedBy(container, 'site.test') }).toEqual({ role, serial: expected });
    }
    expect(await workerPids()).toEqual(workers);
    expect(result.stderr.match(/certificate deployed/g)).toHaveLength(roles.length);
    // The exec'd clients of the sessions end with them: nothing is left running beside HAProxy.
    for (const role of execClients) {
      const name = (containers[role] as HaproxyContainer).name;
      await waitFor(async () => !/socat|perl/.test(await docker('top', name, '-o', 'pid,comm')), { timeoutMs: 15_000, what: `no client left running in ${name}` });
    }
  });

  it('hotcert status shows each container target in sync, with the serial it serves', async () => {
    const result = await hotcert('status', '--config', configFile, '--json');
    expect(result.code).toBe(0);
    const rows = (JSON.parse(result.stdout) as { rows: { lineage: string; target: string; state: string; served_serial?: string }[] }).rows;
    const expected = await certbot.liveSerial('site');
    expect(rows.map((row) => [row.target, row.lineage, row.state, row.served_serial]).sort()).toEqual(
      [...names].sort().map((target) => [target, 'site', 'in-sync', expected]),
    );
  });

  it('what a container restart loads from disk is what was swapped in (files kept in step)', async () => {
    const container = containers.perl as HaproxyContainer;
    await docker('restart', '-t', '5', container.name);
    await container.ready();
    expect(await servedBy(container, 'site.test')).toBe(await certbot.liveSerial('site'));
  });

  it('check-config names the container and the bundle its HAProxy cannot read (a root-only 0600 bundle)', async () => {
    const bundle = join(shared.bundlesDir, 'site.pem');
    await chmod(bundle, 0o600);
    try {
      const result = await hotcert('check-config', '--config', configFile);
      expect(result.code).toBe(69);
      for (const role of names) {
        expect(result.stdout).toContain(`container ${prefix}-${role} (user haproxy) cannot read 1 of 2 bundle paths, e.g. ${HOTCERT_DIR_IN_CONTAINER}/certs/site.pem`);
      }
      expect(result.stdout).toContain('bundles.group');
    } finally {
      await chmod(bundle, 0o640);
    }
  });

  it('a stopped container is reported by name; the other targets are still deployed to', async () => {
    const stopped = containers.tcp as HaproxyContainer;
    await docker('stop', '-t', '5', stopped.name);
    try {
      await certbot.renew(['site']);
      const result = await hotcert('sync', '--config', configFile);
      expect(result.code).toBe(69);
      expect(result.stderr).toContain(`container ${prefix}-tcp is not running`);
      const expected = await certbot.liveSerial('site');
      for (const role of names.filter((name) => name !== 'tcp')) {
        expect({ role, serial: await servedBy(containers[role] as HaproxyContainer, 'site.test') }).toEqual({ role, serial: expected });
      }
    } finally {
      await docker('start', stopped.name);
      await stopped.ready();
    }
  });

  it('container-tcp finds the address on a user-defined network (where NetworkSettings.IPAddress is empty)', async () => {
    const network = `${prefix}-net`;
    await docker('network', 'create', '--label', TEST_LABEL, network);
    const container = await startHaproxyContainer({ name: `${prefix}-usernet`, version, hotcertDir: shared.dir, network });
    try {
      expect((await docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', container.name)).trim()).toBe('');
      const config = await writeConfig('usernet.yaml', containerTarget('usernet', container.name, 'container-tcp:9999', [`network: ${network}`]));
      await certbot.renew(['site']);
      const result = await hotcert('sync', '--config', config);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/certificate deployed lineage=site target=usernet/);
      expect(await servedBy(container, 'site.test')).toBe(await certbot.liveSerial('site'));
    } finally {
      await container.remove();
      await docker('network', 'rm', network);
    }
  });

  it('reload fallback: with no usable runtime API the files are written and the container reloaded, reported as such', async () => {
    const container = await startHaproxyContainer({ name: `${prefix}-nosock`, version, hotcertDir: shared.dir, noStatsSocket: true });
    containers.nosock = container;
    const fallbackConfig = await writeConfig(
      'fallback.yaml',
      containerTarget('nosock', container.name, 'exec:/var/run/haproxy/admin.sock', [`reloadFallback: { tlsPort: ${TLS_PORT}, timeoutMs: 20000 }`]),
    );
    await waitFor(async () => (await servedBy(container, 'site.test')) === (await certbot.liveSerial('site')), { timeoutMs: 10_000, what: 'the new container to serve the files' });
    await certbot.renew(['site']);
    const result = await hotcert('sync', '--config', fallbackConfig);
    expect(result.code).toBe(0);
    expect(await servedBy(container, 'site.test')).toBe(await certbot.liveSerial('site'));
    expect(result.stderr).toMatch(new RegExp(`reload fallback: .*container=${prefix}-nosock.*signal=SIGUSR2`));
    expect(result.stderr).toMatch(/certificate deployed by reloading the container.*lineage=site.*outcome=reloaded/);
    expect(result.stderr).not.toMatch(/certificate deployed\b(?! by reloading)/);
  });

  it('reload fallback in hotcert run: a certbot renewal is deployed by one reload, and said to be', async () => {
    const container = containers.nosock as HaproxyContainer;
    const fallbackConfig = join(temp.path, 'fallback.yaml');
    const daemon = startHotcertRun(fallbackConfig);
    try {
      await waitFor(() => /hotcert running/.test(daemon.output()), { timeoutMs: 30_000, what: 'hotcert to start' });
      const from = daemon.output().length;
      await certbot.renew(['site']);
      const expected = await certbot.liveSerial('site');
      await waitFor(async () => (await servedBy(container, 'site.test')) === expected, { timeoutMs: 30_000, what: `the container to serve ${expected}` });
      await waitFor(() => /outcome=reloaded/.test(daemon.output().slice(from)), { timeoutMs: 10_000, what: 'the reloaded outcome' });
      expect(daemon.output().slice(from).match(/reload fallback: the runtime API cannot be used/g)).toHaveLength(1);
    } finally {
      await daemon.stop('SIGTERM', 5000);
      outputs.push({ code: 0, stdout: '', stderr: daemon.output() });
      if (process.env.SHOW_DAEMON) process.stdout.write(daemon.output());
    }
  });
}, DOCKER_HAPROXY_VERSIONS);
