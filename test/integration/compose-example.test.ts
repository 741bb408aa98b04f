import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load-config.js';
import { buildSidecarImage, docker, haproxyImage, REPO_ROOT, systemdImage } from '../helpers/docker.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const EXAMPLE = join(REPO_ROOT, 'config', 'docker');

interface ComposeService {
  readonly image?: string;
  readonly build?: string;
  readonly volumes?: readonly string[];
}

/** The compose example an operator copies: its files must be valid, and its mounts follow the rules it states. */
describe('the compose example (config/docker)', () => {
  let services: Record<string, ComposeService>;
  let namedVolumes: string[];

  beforeAll(async () => {
    const compose = parse(await readFile(join(EXAMPLE, 'compose.yaml'), 'utf8')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
    services = compose.services;
    namedVolumes = Object.keys(compose.volumes);
  });

  it('mounts only named volumes and directories (no single file that a rename would leave stale)', async () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (source.startsWith('.')) expect({ name, source, directory: (await stat(join(EXAMPLE, source))).isDirectory() }).toEqual({ name, source, directory: true });
        else expect(namedVolumes).toContain(source);
      }
    }
  });

  it('gives hotcert Certbot\'s directory read-only, and builds it from this repository\'s Dockerfile', async () => {
    expect(services.hotcert?.volumes).toContain('letsencrypt:/etc/letsencrypt:ro');
    expect((await stat(join(EXAMPLE, services.hotcert?.build as string, 'Dockerfile'))).isFile()).toBe(true);
  });

  it('has a hotcert.yaml that hotcert accepts, with bundles readable by the official image\'s uid 99', async () => {
    const config = parseConfigText(await readFile(join(EXAMPLE, 'hotcert', 'hotcert.yaml'), 'utf8'), 'hotcert.yaml', {});
    expect(config.bundles).toMatchObject({ group: 99, mode: 0o640 });
    const hotcertMount = services.hotcert?.volumes?.find((volume) => volume.startsWith('hotcert:'));
    const haproxyMount = services.haproxy?.volumes?.find((volume) => volume.startsWith('hotcert:'));
    expect(config.crtList.file.startsWith(`${hotcertMount?.split(':')[1]}/`)).toBe(true);
    expect(haproxyMount?.split(':')[1]).toBe(hotcertMount?.split(':')[1]);
  });

  it('has a haproxy.cfg that HAProxy 2.6 accepts (haproxy -c), with the socket level certificate commands need', async () => {
    const temp = await makeTempDir('compose-example');
    try {
      const text = await readFile(join(EXAMPLE, 'haproxy', 'haproxy.cfg'), 'utf8');
      expect(text).toMatch(/stats socket \/var\/lib\/haproxy\/admin\.sock .*level admin/);
      await writeFile(join(temp.path, 'crt-list.txt'), '');
      const local = text
        .replace('/usr/local/etc/haproxy/hotcert/crt-list.txt', join(temp.path, 'crt-list.txt'))
        .replace('/var/lib/haproxy/admin.sock', join(temp.path, 'admin.sock'));
      await writeFile(join(temp.path, 'haproxy.cfg'), local);
      const result = await run('haproxy', ['-c', '-f', join(temp.path, 'haproxy.cfg')]).then(
        () => 0,
        (error: { code: number; stderr: string }) => `${error.code}: ${error.stderr}`,
      );
      expect(result).toBe(0);
    } finally {
      await temp.remove();
    }
  });
});

/**
 * The compose example brought up with `docker-compose` as an operator would, with three differences a machine
 * without a registry forces, each kept as small as possible: the official images are stand-ins built here under
 * their names (haproxy:2.6 laid out like the official image; certbot/certbot with Debian's certbot), a pebble
 * service stands in for Let's Encrypt, and no host ports are published. Then the README's walk-through: issue
 * inside the certbot service, see it served; renew, see the renewal served.
 */
describe('the compose example, brought up', () => {
  const project = `hotcertc${process.pid}`;
  let temp: TempDir;
  let composeFile: string;
  const compose = (...args: string[]) => run('docker-compose', ['-p', project, '-f', composeFile, ...args], { maxBuffer: 64 * 1024 * 1024 });
  const certbotExec = (...args: string[]) =>
    compose('exec', '-T', '-e', 'REQUESTS_CA_BUNDLE=/pebble/cert.pem', 'certbot', ...args);
  const certbotArgs = ['--standalone', '--http-01-port', '8888', '--server', 'https://pebble:14000/dir', '--non-interactive', '--agree-tos', '--register-unsafely-without-email'];
  const liveSerial = async (): Promise<string> =>
    (await certbotExec('openssl', 'x509', '-noout', '-serial', '-in', '/etc/letsencrypt/live/example.test/cert.pem')).stdout.trim().replace(/^serial=/, '').replace(/^0+(?=.)/, '');
  const servedSerial = async (): Promise<string | undefined> => {
    const id = (await compose('ps', '-q', 'haproxy')).stdout.trim();
    const address = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id)).trim();
    return probeServedCertificate(443, 'example.test', 2000, address).then(
      (certificate) => certificate.serial.replace(/^0+(?=.)/, ''),
      () => undefined,
    );
  };
  const logs = async (): Promise<string> => compose('logs', '--no-color').then(({ stdout, stderr }) => stdout + stderr, (error: Error) => error.message);

  beforeAll(async () => {
    temp = await makeTempDir('compose');
    // Stand-ins under the official names, only where the names are not there already.
    const haproxy = await haproxyImage('2.6', 'socat');
    const certbot = await systemdImage();
    for (const [name, image] of [['haproxy:2.6', haproxy], ['certbot/certbot', certbot]] as const) {
      if (!(await docker('image', 'inspect', name).then(() => true, () => false))) await docker('tag', image, name);
    }
    await buildSidecarImage(`hotcert-test/hotcert:${process.pid}`);
    const example = parse(await readFile(join(EXAMPLE, 'compose.yaml'), 'utf8')) as {
      services: Record<string, Record<string, unknown>>;
      volumes: Record<string, unknown>;
    };
    const services = example.services;
    for (const [name, service] of Object.entries(services)) {
      delete service.ports;
      service.labels = ['hotcert.test=1'];
      service.volumes = (service.volumes as string[]).map((volume) => (volume.startsWith('./') ? join(EXAMPLE, volume) : volume));
      if (name === 'hotcert') {
        delete service.build;
        service.image = `hotcert-test/hotcert:${process.pid}`;
      }
    }
    (services.certbot?.volumes as string[]).push('pebble:/pebble:ro');
    services.pebble = {
      image: 'certbot/certbot',
      labels: ['hotcert.test=1'],
      environment: { PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '100' },
      volumes: ['pebble:/pebble'],
      entrypoint: [
        '/bin/sh',
        '-c',
        [
          'set -e; cd /pebble',
          'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem -days 30 -subj /CN=pebble -addext subjectAltName=DNS:pebble 2>/dev/null',
          `printf '%s' '${JSON.stringify({ pebble: { listenAddress: '0.0.0.0:14000', managementListenAddress: '0.0.0.0:15000', certificate: '/pebble/cert.pem', privateKey: '/pebble/key.pem', httpPort: 5002, tlsPort: 5001, ocspResponderURL: '', externalAccountBindingRequired: false } })}' > config.json`,
          'exec pebble -config /pebble/config.json -strict=false',
        ].join('; '),
      ],
    };
    example.volumes.pebble = null;
    composeFile = join(temp.path, 'compose.yaml');
    await writeFile(composeFile, stringify(example));
    await compose('up', '-d');
    await waitFor(async () => /hotcert running: first full sync attempted/.test(await logs()) && /Listening on: 0\.0\.0\.0:14000/i.test(await logs()), {
      timeoutMs: 60_000,
      what: 'hotcert and pebble to start',
    });
  }, 600_000);

  afterAll(async () => {
    if (composeFile) await compose('down', '-v', '--remove-orphans').catch(() => undefined);
    await temp?.remove();
  });

  afterEach(async () => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) process.stdout.write(`--- docker-compose logs\n${await logs()}\n`);
  });

  it('HAProxy started on the empty crt-list hotcert created, and hotcert reached its socket on the shared volume', async () => {
    // At first boot HAProxy waits for that list, so hotcert finds no socket at its own start, and then HAProxy.
    await waitFor(async () => /hotcert_1 .*target answers again; resyncing it target=haproxy/.test(await logs()), { timeoutMs: 20_000, what: 'hotcert to reach HAProxy' });
    expect(await logs()).toMatch(/haproxy_1 .*Loading success/);
  });

  it('a certificate issued inside the certbot service (README step 3) is served, with no hook', async () => {
    await certbotExec('certbot', 'certonly', ...certbotArgs, '-d', 'example.test');
    const expected = await liveSerial();
    await waitFor(async () => (await servedSerial()) === expected, { timeoutMs: 15_000, what: `example.test to be served with ${expected}` });
  });

  it('a renewal is served too', async () => {
    const before = await liveSerial();
    await certbotExec('certbot', 'renew', '--force-renewal', '--no-random-sleep-on-renew', ...certbotArgs);
    const expected = await liveSerial();
    expect(expected).not.toBe(before);
    await waitFor(async () => (await servedSerial()) === expected, { timeoutMs: 15_000, what: `example.test to be served with ${expected}` });
  });
});
