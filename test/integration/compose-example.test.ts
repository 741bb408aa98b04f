import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load-config.js';
import { buildSidecarImage, CERTBOT_IMAGE_VERSION, certbotImage, docker, DOCKER_HAPROXY_VERSIONS, type DockerHaproxyVersion, haproxyImage, REPO_ROOT } from '../helpers/docker.js';
import { describeEachHaproxy, haproxyCommand } from '../helpers/haproxy-versions.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const EXAMPLE = join(REPO_ROOT, 'config', 'docker');

/** The HAProxy series the example's haproxy service pins (`image: haproxy:3.4`). */
function pinnedHaproxyVersion(): DockerHaproxyVersion {
  const image = (parse(readFileSync(join(EXAMPLE, 'compose.yaml'), 'utf8')) as { services: { haproxy: { image: string } } }).services.haproxy.image;
  const version = /^haproxy:(\d+\.\d+)$/.exec(image)?.[1];
  if (!version || !(DOCKER_HAPROXY_VERSIONS as readonly string[]).includes(version)) {
    throw new Error(`config/docker/compose.yaml pins ${image}: the tests have HAProxy images of ${DOCKER_HAPROXY_VERSIONS.join(', ')} only`);
  }
  return version as DockerHaproxyVersion;
}
const PINNED = pinnedHaproxyVersion();

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

  it('pins the official images: haproxy:3.4 (the newest LTS) and certbot/certbot', () => {
    expect(services.haproxy?.image).toBe('haproxy:3.4');
    expect(services.certbot?.image).toBe('certbot/certbot');
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

  it(`has a haproxy.cfg that the HAProxy it pins (${PINNED}) accepts (haproxy -c), with the socket level certificate commands need`, async () => {
    const temp = await makeTempDir('compose-example');
    try {
      const text = await readFile(join(EXAMPLE, 'haproxy', 'haproxy.cfg'), 'utf8');
      expect(text).toMatch(/stats socket \/var\/lib\/haproxy\/admin\.sock .*level admin/);
      await writeFile(join(temp.path, 'crt-list.txt'), '');
      const local = text
        .replace('/usr/local/etc/haproxy/hotcert/crt-list.txt', join(temp.path, 'crt-list.txt'))
        .replace('/var/lib/haproxy/admin.sock', join(temp.path, 'admin.sock'));
      await writeFile(join(temp.path, 'haproxy.cfg'), local);
      // 3.x prints nothing on success where 2.6 said "Configuration file is valid": the exit code is the verdict.
      const check = await haproxyCommand(PINNED, ['-c', '-f', join(temp.path, 'haproxy.cfg')]);
      const result = await run(check.command, check.args, { env: check.env ?? process.env }).then(
        ({ stderr }) => ({ code: 0, alerts: stderr.split('\n').filter((line) => line.includes('[ALERT]')) }),
        (error: { code: number; stderr: string }) => ({ code: error.code, alerts: [error.stderr] }),
      );
      expect(result).toEqual({ code: 0, alerts: [] });
    } finally {
      await temp.remove();
    }
  });
});

/**
 * The compose example brought up with `docker-compose` as an operator would, with three differences a machine
 * without a registry forces, each kept as small as possible: the official images are stand-ins built here under
 * their names (haproxy:3.4 from upstream 3.4.0 in the official layout; certbot/certbot with sid's certbot 5.5), a
 * pebble service (sid's pebble 2.10, in the certbot image) stands in for Let's Encrypt, and no host ports are
 * published. Then the README's walk-through: issue inside the certbot service, see it served; renew, see the
 * renewal served.
 */
describeEachHaproxy(`the compose example, brought up (certbot ${CERTBOT_IMAGE_VERSION})`, (version) => {
  const project = `hotcertc${process.pid}`;
  let temp: TempDir;
  let composeFile: string;
  const compose = (...args: string[]) => run('docker-compose', ['-p', project, '-f', composeFile, ...args], { maxBuffer: 64 * 1024 * 1024 });
  const certbotExec = (...args: string[]) =>
    compose('exec', '-T', '-e', 'REQUESTS_CA_BUNDLE=/pebble/ca.pem', 'certbot', ...args);
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
    const haproxy = await haproxyImage(version);
    const certbot = await certbotImage();
    for (const [name, image] of [[`haproxy:${version}`, haproxy], ['certbot/certbot', certbot]] as const) {
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
          // A CA and a server certificate it signs, as a real ACME server's chain: certbot 5.5 (urllib3 2.8,
          // VERIFY_X509_STRICT) refuses a CA without keyUsage. Checked as strictly here before pebble starts.
          `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj '/CN=pebble TLS CA' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null`,
          'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem -days 30 -subj /CN=pebble -CA ca.pem -CAkey ca.key -addext subjectAltName=DNS:pebble -addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature -addext extendedKeyUsage=serverAuth 2>/dev/null',
          'openssl verify -x509_strict -purpose sslserver -CAfile ca.pem cert.pem',
          // One profile, 90 days like Let's Encrypt's classic one: with a 6-day "shortlived" profile configured too,
          // pebble 2.10 may pick it for an order that names none.
          `printf '%s' '${JSON.stringify({ pebble: { listenAddress: '0.0.0.0:14000', managementListenAddress: '0.0.0.0:15000', certificate: '/pebble/cert.pem', privateKey: '/pebble/key.pem', httpPort: 5002, tlsPort: 5001, ocspResponderURL: '', externalAccountBindingRequired: false, profiles: { default: { description: 'classic', validityPeriod: 7_776_000 } } } })}' > config.json`,
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

  it(`a certificate issued inside the certbot service (README step 3) by certbot ${CERTBOT_IMAGE_VERSION} is served by HAProxy ${version}, with no hook`, async () => {
    expect((await certbotExec('certbot', '--version')).stdout).toMatch(new RegExp(`^certbot ${CERTBOT_IMAGE_VERSION.replace('.', '\\.')}\\.`));
    expect(await docker('exec', (await compose('ps', '-q', 'haproxy')).stdout.trim(), 'haproxy', '-v')).toMatch(new RegExp(`^HAProxy version ${version.replace('.', '\\.')}\\.`));
    await certbotExec('certbot', 'certonly', ...certbotArgs, '-d', 'example.test');
    // pebble's one profile (90 days), not a 6-day short-lived one.
    const dates = (await certbotExec('openssl', 'x509', '-noout', '-startdate', '-enddate', '-in', '/etc/letsencrypt/live/example.test/cert.pem')).stdout;
    const [notBefore, notAfter] = [/notBefore=(.*)/, /notAfter=(.*)/].map((pattern) => Date.parse(pattern.exec(dates)?.[1] ?? ''));
    expect(Math.round(((notAfter as number) - (notBefore as number)) / 86_400_000)).toBe(90);
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
}, [PINNED]);
