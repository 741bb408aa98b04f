import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { docker, dockerExec, REPO_ROOT, systemdImage, TEST_LABEL } from '../helpers/docker.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);

/** The first ```sh block under a README heading: the operator's commands, run as they are written. */
async function readmeCommands(heading: string): Promise<string> {
  const text = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no heading "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block?.[1]) throw new Error(`README.md has no sh block under "${heading}"`);
  return block[1];
}

/**
 * hotcert installed on a Debian 12 system booted with systemd as PID 1 (in a container: --cap-add SYS_ADMIN
 * --cgroupns=private, no --privileged), exactly as the README's operator's guide says: its install, HAProxy and
 * enable steps run as written, the unit file unchanged. HAProxy runs under Debian's own unit, Certbot issues and
 * renews against pebble in the same system. Step 1 (Node.js from NodeSource) is the one step not run: the image
 * carries Node already, as no download site is reachable here.
 */
describe('hotcert.service under a real systemd, installed as the README tells an operator', () => {
  const container = `hotcert-sd${process.pid}`;
  const sh = (script: string, timeoutMs?: number) => dockerExec(container, script, timeoutMs ? { timeoutMs } : {});
  const journal = async (options = ''): Promise<string> => (await sh(`journalctl -u hotcert --no-pager -o cat ${options}`)).output;
  const show = async (property: string): Promise<string> => (await sh(`systemctl show -p ${property} --value hotcert`)).output.trim();
  const liveSerial = async (lineage: string): Promise<string> =>
    (await sh(`openssl x509 -noout -serial -in /etc/letsencrypt/live/${lineage}/cert.pem`)).output.trim().replace(/^serial=/, '').replace(/^0+(?=.)/, '');
  const expectServedSoon = async (lineage: string, host: string): Promise<void> => {
    const expected = await liveSerial(lineage);
    const address = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container)).trim();
    await waitFor(
      async () => ((await probeServedCertificate(443, host, 2000, address).then((certificate) => certificate.serial, () => undefined)) ?? '').replace(/^0+(?=.)/, '') === expected,
      { timeoutMs: 15_000, what: `${host} to be served with serial ${expected}` },
    );
  };
  const journalShows = async (pattern: RegExp, since: string): Promise<void> => {
    await waitFor(async () => pattern.test(await journal(`--since "${since}"`)), { timeoutMs: 15_000, what: `the journal to show ${pattern}` });
  };
  const now = async (): Promise<string> => (await sh('date "+%Y-%m-%d %H:%M:%S"')).output.trim();

  beforeAll(async () => {
    const image = await systemdImage();
    await docker(
      'run', '-d', '--name', container, '--label', TEST_LABEL, '--cap-add', 'SYS_ADMIN', '--cgroupns=private',
      '--tmpfs', '/run', '--tmpfs', '/run/lock', image,
    );
    await waitFor(async () => /^(running|degraded)$/.test((await sh('systemctl is-system-running || true')).output.trim()), { timeoutMs: 60_000, what: 'systemd to boot' });
    // The source as a checkout has it (tracked files and new ones, not node_modules or dist).
    await run('bash', ['-c', `cd ${REPO_ROOT} && git ls-files -z --cached --others --exclude-standard | tar --null -T - --transform 's,^,hotcert/,' -cf - | docker cp - ${container}:/usr/local/src/`]);
    // What installing Debian's haproxy package does on a host: the service enabled and running.
    expect((await sh('systemctl enable --now haproxy')).code).toBe(0);
    const install = await dockerExec(container, await readmeCommands('### 2. Install hotcert'), { workdir: '/usr/local/src/hotcert', timeoutMs: 600_000 });
    expect({ step: 'install', ...install }).toMatchObject({ code: 0 });
    const haproxy = await sh(await readmeCommands('### 3. Configure HAProxy'));
    expect({ step: 'haproxy', ...haproxy }).toMatchObject({ code: 0 });
    expect((await sh('/usr/local/src/hotcert/test/docker/systemd-guest/start-pebble.sh')).code).toBe(0);
    expect((await sh('test-certbot certonly --standalone --http-01-port 5002 --cert-name early -d early.test')).code).toBe(0);
    const check = await sh('hotcert check-config');
    expect({ step: 'check-config', ...check }).toMatchObject({ code: 0 });
    const enable = await sh(await readmeCommands('### 5. Enable the service'));
    expect({ step: 'enable', ...enable }).toMatchObject({ code: 0 });
  }, 900_000);

  afterAll(async () => {
    await docker('rm', '-f', '-v', container).catch(() => undefined);
  });

  afterEach(async () => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) process.stdout.write(`--- journalctl -u hotcert\n${await journal()}\n`);
  });

  it('the unit file installed is the repository\'s, unchanged, and the service runs', async () => {
    const installed = (await sh('cat /etc/systemd/system/hotcert.service')).output;
    expect(installed).toBe(await readFile(join(REPO_ROOT, 'systemd', 'hotcert.service'), 'utf8'));
    await waitFor(async () => (await show('ActiveState')) === 'active', { timeoutMs: 15_000, what: 'hotcert to be active' });
    await journalShows(/hotcert running: first full sync attempted/, '-10min');
    // Its state in systemctl status, sent as STATUS= through systemd-notify (NotifyAccess=all).
    await waitFor(async () => (await show('StatusText')) === 'running: 1 target, first full sync attempted', { timeoutMs: 15_000, what: 'the status text' });
    expect((await sh('systemctl status hotcert --no-pager')).output).toMatch(/Status: "running: 1 target, first full sync attempted"/);
  });

  it('serves what existed at its start, a new lineage, and a renewal (the hardening lets it read keys, write its files, reach the socket)', async () => {
    await expectServedSoon('early', 'early.test');
    expect((await sh('test-certbot certonly --standalone --http-01-port 5002 --cert-name fresh -d fresh.test')).code).toBe(0);
    await expectServedSoon('fresh', 'fresh.test');
    expect((await sh('test-certbot renew --force-renewal --no-random-sleep-on-renew --cert-name early')).code).toBe(0);
    await expectServedSoon('early', 'early.test');
    expect((await sh('stat -c "%a %U" /etc/haproxy/hotcert/certs/early.pem')).output.trim()).toBe('600 root');
  });

  it('systemctl reload re-reads the configuration (the journal shows it)', async () => {
    const since = await now();
    const pid = await show('MainPID');
    expect((await sh('systemctl reload hotcert')).code).toBe(0);
    await journalShows(/configuration reloaded; resyncing every target/, since);
    await journalShows(/full resync reason="configuration reloaded"/, since);
    expect(await show('MainPID')).toBe(pid);
  });

  it('a bad configuration on reload is reported and the daemon keeps running and deploying', async () => {
    const since = await now();
    const pid = await show('MainPID');
    await sh(`cp /etc/hotcert/hotcert.yaml /root/hotcert.yaml.good && sed -i 's/mode: "0600"/mode: 0600/' /etc/hotcert/hotcert.yaml`);
    try {
      expect((await sh('systemctl reload hotcert')).code).toBe(0);
      await journalShows(/configuration not reloaded; the running one is kept/, since);
      expect(await journal(`--since "${since}"`)).toContain('bundles.mode: must be an octal mode as a quoted string');
      expect(await show('ActiveState')).toBe('active');
      expect(await show('MainPID')).toBe(pid);
      expect((await sh('test-certbot renew --force-renewal --no-random-sleep-on-renew --cert-name fresh')).code).toBe(0);
      await expectServedSoon('fresh', 'fresh.test');
    } finally {
      await sh('cp /root/hotcert.yaml.good /etc/hotcert/hotcert.yaml');
    }
  });

  it('journalctl -p warning shows the warnings and errors only', async () => {
    const important = await journal('-p warning');
    expect(important).toContain('configuration not reloaded; the running one is kept');
    expect(important).not.toMatch(/certificate (added|deployed)|hotcert running/);
    expect(await journal('-p info')).toMatch(/certificate added/);
  });

  it('systemctl stop is clean: exit 0, no kill at the timeout', async () => {
    expect((await sh('systemctl stop hotcert')).code).toBe(0);
    expect(await show('ActiveState')).toBe('inactive');
    expect(await show('Result')).toBe('success');
    expect(await show('ExecMainStatus')).toBe('0');
    expect(await journal('-n 5')).toMatch(/stopped/);
  });

  it('after systemctl kill -s KILL it is restarted, and the restart resyncs what changed while it was down', async () => {
    expect((await sh('systemctl start hotcert')).code).toBe(0);
    await waitFor(async () => (await show('ActiveState')) === 'active', { timeoutMs: 15_000, what: 'hotcert to be active' });
    const restarts = Number(await show('NRestarts'));
    expect((await sh('systemctl kill -s KILL hotcert')).code).toBe(0);
    // Certbot renews while hotcert is dead: no event reaches anyone.
    expect((await sh('test-certbot renew --force-renewal --no-random-sleep-on-renew --cert-name early')).code).toBe(0);
    await waitFor(async () => Number(await show('NRestarts')) === restarts + 1 && (await show('ActiveState')) === 'active', {
      timeoutMs: 30_000,
      what: 'systemd to restart hotcert',
    });
    await expectServedSoon('early', 'early.test');
  });

  it('a bad configuration at start fails with exit 78 and does not restart-loop', async () => {
    await sh(`cp /etc/hotcert/hotcert.yaml /root/hotcert.yaml.good && sed -i 's|runtime: unix:/run/haproxy/admin.sock|runtime: http://admin.sock|' /etc/hotcert/hotcert.yaml`);
    try {
      await sh('systemctl restart hotcert || true');
      await waitFor(async () => (await show('ActiveState')) === 'failed', { timeoutMs: 15_000, what: 'hotcert to fail' });
      expect(await show('ExecMainStatus')).toBe('78');
      // A unit that is going to restart waits in "auto-restart"; RestartPreventExitStatus sends it to "failed".
      expect(await show('SubState')).toBe('failed');
      // A manual restart resets the counter: any automatic restart after it would count.
      expect(await show('NRestarts')).toBe('0');
      expect(await journal('-n 20')).toContain('targets[0].runtime: "http://admin.sock": expected unix:/path/to/socket');
    } finally {
      await sh('cp /root/hotcert.yaml.good /etc/hotcert/hotcert.yaml && systemctl reset-failed hotcert && systemctl start hotcert');
    }
  });

  it('systemd-analyze security rates the unit at most 2.5', async () => {
    const result = await sh('systemd-analyze security --offline=true --no-pager /etc/systemd/system/hotcert.service');
    const level = Number(/Overall exposure level for hotcert\.service: ([\d.]+)/.exec(result.output)?.[1]);
    expect(level).toBeLessThanOrEqual(2.5);
    process.stdout.write(`systemd-analyze security: exposure ${level}\n`);
  });
});
