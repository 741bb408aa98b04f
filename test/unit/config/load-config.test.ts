import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfigText } from '../../../src/config/load-config.js';
import { ConfigError } from '../../../src/errors.js';

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, 'test.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('an empty file means the documented defaults for a stock Debian host', () => {
    const config = parseConfigText('', 'test.yaml', {});
    expect(config).toEqual({
      letsencrypt: { dir: '/etc/letsencrypt' },
      bundles: { dir: '/etc/haproxy/hotcert/certs', mode: 0o600 },
      crtList: { file: '/etc/haproxy/hotcert/crt-list.txt' },
      docker: { endpoint: { kind: 'unix', path: '/var/run/docker.sock' } },
      targets: [
        {
          name: 'local',
          runtime: { kind: 'unix', path: '/run/haproxy/admin.sock' },
          crtList: '/etc/haproxy/hotcert/crt-list.txt',
          bundlesDir: '/etc/haproxy/hotcert/certs',
          timeoutMs: 10_000,
          maxCommandBytes: 15_872,
          runtimeOnly: false,
        },
      ],
      lineages: {},
      deploy: { staleTransactionMs: 5000, removeDeleted: false, clockSkewMs: 300_000, minRsaBits: 2048 },
      watch: { settleMs: 150, maxWaitMs: 2000, notReadyAlertMs: 60_000, rescanIntervalMs: 3_600_000, targetCheckIntervalMs: 5000, pollMs: 10_000 },
      state: { file: '/var/lib/hotcert/state.json' },
      status: { warnDays: 14, criticalDays: 7 },
      metrics: { listen: '' },
      log: { level: 'info', format: 'auto' },
    });
    expect(Object.isFrozen(config.targets[0])).toBe(true);
  });

  it('a target inherits hotcert\'s paths unless it names them as HAProxy sees them', () => {
    const config = parseConfigText(
      [
        'crtList: { file: /srv/hotcert/list.txt }',
        'bundles: { dir: /srv/hotcert/certs, mode: "0640", owner: root, group: 99 }',
        'targets:',
        '  - { name: host, runtime: "tcp:127.0.0.1:9999" }',
        '  - { name: box, runtime: "tcp:[::1]:9000", crtList: /usr/local/etc/haproxy/list.txt, bundlesDir: /usr/local/etc/haproxy/certs, runtimeOnly: true }',
      ].join('\n'),
      'test.yaml',
      {},
    );
    expect(config.bundles).toEqual({ dir: '/srv/hotcert/certs', mode: 0o640, owner: 'root', group: 99 });
    expect(config.targets.map((target) => [target.runtime, target.crtList, target.bundlesDir])).toEqual([
      [{ kind: 'tcp', host: '127.0.0.1', port: 9999 }, '/srv/hotcert/list.txt', '/srv/hotcert/certs'],
      [{ kind: 'tcp', host: '::1', port: 9000 }, '/usr/local/etc/haproxy/list.txt', '/usr/local/etc/haproxy/certs'],
    ]);
  });

  it('per-lineage crt-list options are validated so nothing can break out of the line', () => {
    const config = parseConfigText('lineages: { example.com: { sslOptions: "alpn h2,http/1.1", sniFilters: [example.com, "!admin.example.com"] } }', 'test.yaml', {});
    expect(config.lineages['example.com']).toEqual({ sslOptions: 'alpn h2,http/1.1', sniFilters: ['example.com', '!admin.example.com'] });
    expect(issuesOf('lineages: { a: { sslOptions: "alpn h2] evil" } }')).toEqual([
      'lineages.a.sslOptions: must be crt-list SSL options (letters, digits, spaces and ._:,/=+-), without brackets',
    ]);
    expect(issuesOf('lineages: { a: { sniFilters: ["a b"] } }')[0]).toMatch(/^lineages\.a\.sniFilters\[0\]: /);
  });

  it('targets sharing the crt-list file must name the bundles dir alike', () => {
    expect(
      issuesOf('targets: [{ name: a, runtime: "unix:/a" }, { name: b, runtime: "unix:/b", bundlesDir: /elsewhere }]'),
    ).toEqual([
      'targets[1].bundlesDir: is /elsewhere but targets[0] names it /etc/haproxy/hotcert/certs: targets that share the crt-list file must name the bundles dir alike',
    ]);
    expect(issuesOf('targets: [{ name: a, runtime: "unix:/a" }, { name: b, runtime: "tcp:10.0.0.2:9999", runtimeOnly: true, bundlesDir: /x }]')).toEqual([]);
  });

  it('reports every problem at once, each with its key path', () => {
    const issues = issuesOf(
      [
        'letsencrypt: { dir: relative/path }',
        'bundles: { mode: 0600, dri: x }',
        'targets:',
        '  - { name: "bad name", runtime: "http://x" }',
        '  - { name: ok, runtime: "tcp:127.0.0.1:99999" }',
        '  - { name: ok, runtime: "unix:/x" }',
        'log: { level: verbose }',
      ].join('\n'),
    );
    expect(issues).toEqual([
      'letsencrypt.dir: must be an absolute path made of letters, digits, ".", "_", "-" and "/"',
      'bundles.mode: must be an octal mode as a quoted string, such as "0600" (YAML reads an unquoted 0600 as 600)',
      'bundles.dri: unknown key',
      'targets[0].name: must be made of letters, digits, ".", "_" and "-"',
      'targets[0].runtime: "http://x": expected unix:/path/to/socket, tcp:HOST:PORT, container-tcp:PORT or exec:/path/in/the/container',
      'targets[1].runtime: "tcp:127.0.0.1:99999": expected tcp:HOST:PORT with a port from 1 to 65535',
      'log.level: must be one of error, warn, info, debug',
      'targets[2].name: "ok" is already used by targets[1]',
    ]);
  });

  it.each([
    ['a path with a command separator', 'crtList: { file: "/etc/haproxy/a;show info" }', 'crtList.file'],
    ['a path with a space', 'bundles: { dir: "/etc/haproxy/my certs" }', 'bundles.dir'],
    ['no targets', 'targets: []', 'targets'],
    ['a relative unix socket', 'targets: [{ name: a, runtime: "unix:admin.sock" }]', 'targets[0].runtime'],
    ['a timeout below 100 ms', 'targets: [{ name: a, runtime: "unix:/a", timeoutMs: 5 }]', 'targets[0].timeoutMs'],
    ['a non-mapping root', '- a\n- b', '(root)'],
    ['broken YAML', 'a: [1,\n b', '(yaml)'],
    ['a duplicate key', 'log: { level: info }\nlog: { level: debug }', '(yaml)'],
  ])('rejects %s', (_label, text, path) => {
    expect(issuesOf(text).map((issue) => issue.split(':')[0])).toContain(path);
  });

  it('environment variables override single keys and are named in problems', () => {
    const config = parseConfigText('log: { level: warn }', 'test.yaml', {
      HOTCERT_LOG_LEVEL: 'debug',
      HOTCERT_BUNDLES_MODE: '0640',
      HOTCERT_TARGET_RUNTIME: 'tcp:127.0.0.1:7000',
    });
    expect(config.log.level).toBe('debug');
    expect(config.bundles.mode).toBe(0o640);
    expect(config.targets).toHaveLength(1);
    expect(config.targets[0]?.runtime).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 7000 });
    expect(issuesOf('', { HOTCERT_LOG_FORMAT: 'xml' })).toEqual([
      'log.format (from HOTCERT_LOG_FORMAT): must be one of auto, journald, json, text',
    ]);
    expect(
      issuesOf('targets: [{ name: a, runtime: "unix:/a" }, { name: b, runtime: "unix:/b" }]', {
        HOTCERT_TARGET_RUNTIME: 'unix:/c',
      }),
    ).toEqual(['targets: HOTCERT_TARGET_RUNTIME applies only when at most one target is configured']);
  });

  describe('files', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'hotcert-config-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('a missing default file means defaults; a missing named file is an error naming it', async () => {
      const missing = join(dir, 'absent.yaml');
      await expect(loadConfig({ file: missing, env: {} })).rejects.toMatchObject({
        issues: [{ path: '(file)', message: `cannot read ${missing}: no such file` }],
      });
      await expect(loadConfig({ file: undefined, env: { HOTCERT_CONFIG: missing } })).rejects.toBeInstanceOf(ConfigError);
    });

    it('reads the file named by HOTCERT_CONFIG', async () => {
      const file = join(dir, 'hotcert.yaml');
      await writeFile(file, 'log: { level: debug }\n');
      const loaded = await loadConfig({ file: undefined, env: { HOTCERT_CONFIG: file } });
      expect(loaded.file).toBe(file);
      expect(loaded.config.log.level).toBe('debug');
    });

    it('an unreadable file is reported as such', async () => {
      if (process.getuid?.() === 0) {
        // Root reads any file: a directory in its place gives the same "cannot read" path.
        const file = join(dir, 'is-a-dir.yaml');
        await import('node:fs/promises').then((fs) => fs.mkdir(file));
        await expect(loadConfig({ file, env: {} })).rejects.toMatchObject({ issues: [{ path: '(file)', message: `cannot read ${file}: EISDIR` }] });
        return;
      }
      const file = join(dir, 'secret.yaml');
      await writeFile(file, '');
      await chmod(file, 0o000);
      await expect(loadConfig({ file, env: {} })).rejects.toMatchObject({ issues: [{ message: `cannot read ${file}: permission denied` }] });
    });
  });
});

describe('configuration of container targets', () => {
  const issuesOf = (text: string): string[] => {
    try {
      parseConfigText(text, 'test.yaml', {});
      return [];
    } catch (error) {
      return (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
    }
  };

  it('reads a container chosen by name, reached by exec, with its paths as HAProxy names them', () => {
    const config = parseConfigText(
      [
        'targets:',
        '  - name: edge',
        '    runtime: exec:/var/run/haproxy/admin.sock',
        '    docker: { container: haproxy, reloadFallback: { tlsPort: 443 } }',
        '    crtList: /usr/local/etc/haproxy/hotcert/crt-list.txt',
        '    bundlesDir: /usr/local/etc/haproxy/hotcert/certs',
      ].join('\n'),
      'test.yaml',
      {},
    );
    expect(config.targets[0]).toMatchObject({
      runtime: { kind: 'exec', path: '/var/run/haproxy/admin.sock' },
      docker: { container: 'haproxy', reloadFallback: { tlsPort: 443, signal: 'SIGUSR2', timeoutMs: 30_000 } },
    });
  });

  it('names each impossible combination at the key to change', () => {
    expect(
      issuesOf(
        [
          'targets:',
          '  - { name: a, runtime: "container-tcp:9999" }',
          '  - { name: b, runtime: "unix:/srv/run/admin.sock", docker: { label: role=haproxy } }',
          '  - { name: c, runtime: "container-tcp:9999", docker: { container: hx, label: y } }',
          '  - { name: d, runtime: "tcp:10.0.0.1:9999", docker: { label: role } }',
          '  - { name: e, runtime: "exec:/run/a.sock", runtimeOnly: true, docker: { container: hx, reloadFallback: { tlsPort: 443 } } }',
          '  - { name: f, runtime: "container-tcp:0", docker: { container: hx } }',
        ].join('\n'),
      ),
    ).toEqual([
      'targets[0].runtime: container-tcp: needs a "docker" section naming the container',
      'targets[1].runtime: with docker.label every container needs its own socket: put "{container}" in the path (unix:/srv/haproxy/{container}/admin.sock)',
      'targets[2].docker: needs exactly one of "container" (one container by name) and "label" (every running container carrying it)',
      'targets[3].runtime: with docker.label use container-tcp:PORT (each container\'s own address), not one tcp: address',
      'targets[4].docker.reloadFallback: cannot work with runtimeOnly: a reload loads the files, which this HAProxy cannot read',
      'targets[5].runtime: "container-tcp:0": expected container-tcp:PORT with a port from 1 to 65535',
    ]);
  });
});
