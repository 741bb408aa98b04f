import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { runHotcert } from '../helpers/hotcert-cli.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { describeEachHaproxy } from '../helpers/haproxy-versions.js';

describeEachHaproxy('hotcert check-config against real HAProxy', (version) => {
  let admin: TestHaproxy;
  let operator: TestHaproxy;
  let temp: TempDir;
  let letsencryptDir: string;

  beforeAll(async () => {
    [admin, operator, temp] = await Promise.all([startHaproxy({ version }), startHaproxy({ version, socketLevel: 'operator' }), makeTempDir('check')]);
    letsencryptDir = join(temp.path, 'letsencrypt');
    await mkdir(join(letsencryptDir, 'live', 'example.com'), { recursive: true });
  });

  afterAll(async () => {
    await Promise.all([admin?.stop(), operator?.stop(), temp?.remove()]);
  });

  async function writeConfig(name: string, lines: readonly string[]): Promise<string> {
    const file = join(temp.path, name);
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  }

  function configFor(haproxy: TestHaproxy, target: string[] = []): string[] {
    return [
      `letsencrypt: { dir: ${letsencryptDir} }`,
      `bundles: { dir: ${haproxy.bundlesDir} }`,
      `crtList: { file: ${haproxy.crtListPath} }`,
      'targets:',
      `  - name: edge`,
      `    runtime: unix:${haproxy.socketPath}`,
      ...target,
    ];
  }

  it('reports what it found on a correctly set up HAProxy and exits 0', async () => {
    const file = await writeConfig('good.yaml', configFor(admin));
    const result = await runHotcert(['check-config', '--config', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^ok +config +${file}: valid, 1 target$`)),
      expect.stringMatching(new RegExp(`^ok +letsencrypt +${letsencryptDir}/live: readable, 1 lineage$`)),
      expect.stringMatching(new RegExp(`^ok +bundles +${admin.bundlesDir}: directory writable; bundles written with mode 0600$`)),
      expect.stringMatching(new RegExp(`^ok +crt-list +${admin.crtListPath}: directory writable$`)),
      expect.stringMatching(new RegExp(`^ok +target edge +unix:${admin.socketPath}: HAProxy ${version.replace('.', '\\.')}\\.`)),
      expect.stringMatching(/^ok +target edge +stats socket level admin$/),
      expect.stringMatching(new RegExp(`^ok +target edge +crt-list ${admin.crtListPath} is loaded$`)),
      'check-config: all checks passed',
    ]);
  });

  it('fails on a socket below level admin, naming the level', async () => {
    const file = await writeConfig('operator.yaml', configFor(operator));
    const result = await runHotcert(['check-config', '--config', file]);
    expect(result.code).toBe(69);
    expect(result.stdout).toMatch(/^fail +target edge +stats socket level is "operator": certificate commands need "level admin"$/m);
    expect(result.stdout).toMatch(/^check-config: 1 check failed$/m);
  });

  it('fails when HAProxy has not loaded the crt-list under the name configured for the target', async () => {
    const file = await writeConfig('wrong-list.yaml', configFor(admin, ['    crtList: /usr/local/etc/haproxy/crt-list.txt']));
    const result = await runHotcert(['check-config', '--config', file]);
    expect(result.code).toBe(69);
    expect(result.stdout).toContain(`HAProxy has no crt-list named /usr/local/etc/haproxy/crt-list.txt (it has: ${admin.crtListPath})`);
  });

  it('fails on an unreachable runtime socket and an unusable bundles dir, and still reports the rest', async () => {
    const notADir = join(temp.path, 'plain-file');
    await writeFile(notADir, '');
    const file = await writeConfig('unreachable.yaml', [
      `letsencrypt: { dir: ${letsencryptDir} }`,
      `bundles: { dir: ${notADir} }`,
      `crtList: { file: ${admin.crtListPath} }`,
      'targets:',
      `  - { name: gone, runtime: "unix:${temp.path}/no.sock" }`,
      `  - { name: edge, runtime: "unix:${admin.socketPath}" }`,
    ]);
    const result = await runHotcert(['check-config', '--config', file]);
    expect(result.code).toBe(69);
    expect(result.stdout).toMatch(new RegExp(`^fail +bundles +${notADir}: is not a directory$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^fail +target gone +cannot reach runtime API unix:${temp.path}/no.sock: no socket at`, 'm'));
    expect(result.stdout).toMatch(/^ok +target edge +stats socket level admin$/m);
    expect(result.stdout).toMatch(/^check-config: 2 checks failed$/m);
  });

  it('lists every problem of a broken file with its key path and exits 78, touching nothing', async () => {
    const file = await writeConfig('broken.yaml', [
      'letsencrypt: { dir: etc/letsencrypt }',
      'bundles: { mode: 0600 }',
      'targets:',
      '  - { name: edge, runtime: "unix:admin.sock" }',
      'log: { level: loud, colour: yes }',
    ]);
    const result = await runHotcert(['check-config', '--config', file], { HOTCERT_LOG_FORMAT: 'text' });
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`invalid configuration in ${file}: 5 problems`);
    for (const path of ['letsencrypt.dir', 'bundles.mode', 'targets[0].runtime', 'log.level', 'log.colour']) {
      expect(result.stderr).toMatch(new RegExp(`^  ${path.replace(/[[\].]/g, '\\$&')}: `, 'm'));
    }
  });

  it('a bundles group that does not exist: check-config fails on it, sync exits 78 naming the key', async () => {
    const file = await writeConfig('group.yaml', configFor(admin));
    const env = { HOTCERT_BUNDLES_GROUP: 'no-such-group', HOTCERT_LOG_FORMAT: 'text' };
    const check = await runHotcert(['check-config', '--config', file], env);
    expect(check.code).toBe(69);
    expect(check.stdout).toMatch(/^fail +bundles +bundles\.group: no group named "no-such-group" in \/etc\/group$/m);
    const sync = await runHotcert(['sync', '--config', file], env);
    expect(sync.code).toBe(78);
    expect(sync.stderr).toContain('bundles.group: no group named "no-such-group" in /etc/group');
  });

  it('prefixes every line for journald when journald reads the stream', async () => {
    const file = await writeConfig('broken-journald.yaml', ['log: { level: loud }', 'crtList: { file: relative }']);
    const result = await runHotcert(['check-config', '--config', file], { HOTCERT_LOG_FORMAT: 'journald' });
    expect(result.code).toBe(78);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/^<3>/);
  });

  it('usage errors exit 64 and --version prints the version', async () => {
    expect((await runHotcert(['frobnicate'])).code).toBe(64);
    const bogus = await runHotcert(['check-config', '--bogus']);
    expect({ code: bogus.code, stderr: bogus.stderr }).toEqual({ code: 64, stderr: 'hotcert: unknown option --bogus\nUsage: hotcert check-config [--config FILE]\n(hotcert check-config --help for more)\n' });
    const version = await runHotcert(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^hotcert \d+\.\d+\.\d+\n$/);
  });
});
