import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/config/load-config.js';
import { REPO_ROOT } from '../helpers/docker.js';
import { makeTempDir } from '../helpers/temp-dir.js';

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
