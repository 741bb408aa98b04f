import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { docker, dockerExec, REPO_ROOT, systemdImage, TEST_LABEL } from '../helpers/docker.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);

/** The first ```sh block under a README heading, run as the operator's guide writes it. */
async function readmeCommands(heading: string): Promise<string> {
  const text = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (at < 0 || !block?.[1]) throw new Error(`README.md has no sh block under "${heading}"`);
  return block[1];
}

/**
 * The Debian package as an operator of a Debian 13 host uses it: built by config/debian/build-deb.sh, installed with
 * `apt-get install ./hotcert_*.deb` on a system booted with systemd as PID 1 that has Debian's own nodejs (20.19) and
 * nothing else of Node, enabled and started by the package, serving a certbot lineage once HAProxy is configured as
 * the README says; `apt-get purge` leaves no unit and no file of hotcert's but the operator's (/etc/haproxy/hotcert).
 */
describe('the Debian package on Debian 13 with Debian\'s own nodejs, under a real systemd', () => {
  const container = `hotcert-deb${process.pid}`;
  let temp: TempDir;
  let deb: string;
  const sh = (script: string, timeoutMs?: number) => dockerExec(container, script, timeoutMs ? { timeoutMs } : {});
  const show = async (property: string): Promise<string> => (await sh(`systemctl show -p ${property} --value hotcert`)).output.trim();

  beforeAll(async () => {
    temp = await makeTempDir('deb');
    deb = (await run('bash', [join(REPO_ROOT, 'config', 'debian', 'build-deb.sh'), temp.path], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
    const image = await systemdImage('trixie');
    await docker('run', '-d', '--name', container, '--label', TEST_LABEL, '--cap-add', 'SYS_ADMIN', '--cgroupns=private', '--tmpfs', '/run', '--tmpfs', '/run/lock', image);
    await waitFor(async () => /^(running|degraded)$/.test((await sh('systemctl is-system-running || true')).output.trim()), { timeoutMs: 60_000, what: 'systemd to boot' });
    await docker('cp', deb, `${container}:/root/`);
    await docker('cp', join(REPO_ROOT, 'test', 'docker', 'systemd-guest', 'start-pebble.sh'), `${container}:/root/start-pebble.sh`);
    expect((await sh('systemctl enable --now haproxy')).code).toBe(0);
  }, 900_000);

  afterAll(async () => {
    await docker('rm', '-f', '-v', container).catch(() => undefined);
    await temp?.remove();
  });

  it('the package says what it is: architecture all, Debian\'s nodejs (>= 20.19), the conffile', async () => {
    const info = (await run('dpkg-deb', ['-I', deb])).stdout;
    expect(info).toMatch(/^ Architecture: all$/m);
    expect(info).toMatch(/^ Depends: nodejs \(>= 20\.19\), util-linux, init-system-helpers$/m);
    expect(info).toMatch(/conffiles/);
    const contents = (await run('dpkg-deb', ['-c', deb], { maxBuffer: 16 * 1024 * 1024 })).stdout;
    for (const path of ['./usr/bin/hotcert', './lib/systemd/system/hotcert.service', './etc/hotcert/hotcert.yaml', './usr/lib/hotcert/dist/main.js', './usr/lib/hotcert/dist/assess-worker.js', './usr/lib/hotcert/node_modules/dockerode/']) expect(contents).toContain(path);
    expect(contents).not.toMatch(/\.\/usr\/lib\/hotcert\/node_modules\/(jest|typescript|ts-jest)\//);
    // The bundles carry the rest: neither tsc's module tree nor the bundled libraries are installed.
    expect(contents).not.toMatch(/\.\/usr\/lib\/hotcert\/(dist\/app\.js|node_modules\/(winston|zod|esbuild)\/)/);
  });

  it('apt-get install ./hotcert_*.deb installs, enables and starts it, on Debian\'s own node', async () => {
    expect((await sh('node --version; command -v node')).output).toMatch(/^v20\.19\.\d+\n\/usr\/bin\/node\n$/);
    const install = await sh('cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./hotcert_*.deb', 300_000);
    expect({ step: 'install', ...install }).toMatchObject({ code: 0 });
    expect((await sh('hotcert --version')).output).toMatch(/^hotcert \d+\.\d+\.\d+\n$/);
    expect(await show('UnitFileState')).toBe('enabled');
    await waitFor(async () => (await show('ActiveState')) === 'active', { timeoutMs: 20_000, what: 'hotcert to be active' });
    expect(await show('ExecStart')).toContain('path=/usr/bin/hotcert');
  });

  it('once HAProxy is set up as the README says, a certbot lineage is served without a reload', async () => {
    expect((await sh(await readmeCommands('### 3. Configure HAProxy'))).code).toBe(0);
    expect((await sh('/root/start-pebble.sh')).code).toBe(0);
    expect((await sh('test-certbot certonly --standalone --http-01-port 5002 --cert-name site -d site.test', 180_000)).code).toBe(0);
    const serial = (await sh('openssl x509 -noout -serial -in /etc/letsencrypt/live/site/cert.pem')).output.trim().replace(/^serial=/, '');
    const address = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container)).trim();
    await waitFor(async () => (await probeServedCertificate(443, 'site.test', 2000, address).then((certificate) => certificate.serial, () => '')) === serial, { timeoutMs: 30_000, what: 'the lineage to be served' });
    expect((await sh('journalctl -u hotcert --no-pager -o cat')).output).toMatch(/certificate added lineage=site target=local/);
    const status = await sh('hotcert status || true');
    expect(status.output.split('\n')[0]).toMatch(/^HOTCERT OK - 1 certificate in sync on 1 target; daemon running/);
  });

  it('apt-get purge leaves no unit and no file of hotcert\'s but the operator\'s', async () => {
    expect((await sh('DEBIAN_FRONTEND=noninteractive apt-get purge -y -q hotcert', 120_000)).code).toBe(0);
    const left = await sh('for p in /usr/bin/hotcert /usr/lib/hotcert /lib/systemd/system/hotcert.service /etc/systemd/system/multi-user.target.wants/hotcert.service /etc/hotcert /var/lib/hotcert; do [ -e "$p" ] && echo "$p"; done; true');
    expect(left.output).toBe('');
    expect((await sh('systemctl cat hotcert.service >/dev/null 2>&1; echo $?')).output.trim()).not.toBe('0');
    expect((await sh("pgrep -f '^/usr/bin/node /usr/lib/[h]otcert' || true")).output.trim()).toBe('');
    // What HAProxy's configuration names stays: its next start serves the certificates from there.
    expect((await sh('ls /etc/haproxy/hotcert/crt-list.txt')).code).toBe(0);
  });
});
