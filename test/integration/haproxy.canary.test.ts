import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { describeEachHaproxy, HAPROXY_SOURCES } from '../helpers/haproxy-versions.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';

async function workerPid(haproxy: TestHaproxy): Promise<string | undefined> {
  return /^Pid: (\d+)$/m.exec(await haproxy.command('show info'))?.[1];
}

/** The PIDs of every process whose mount namespace is `namespace` (`mnt:[N]`). */
async function processesIn(namespace: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const link = await readlink(`/proc/${entry}/ns/mnt`).catch(() => undefined);
    if (link === namespace) found.push(entry);
  }
  return found;
}

describeEachHaproxy('canary: a real HAProxy from the harness', (version) => {
  let haproxy: TestHaproxy;

  beforeAll(async () => {
    haproxy = await startHaproxy({ version });
  });

  afterAll(async () => {
    await haproxy?.stop();
  });

  it(`answers "show info" on its runtime socket with a ${version} version`, async () => {
    const reply = await haproxy.command('show info');
    expect(haproxy.version.startsWith(`${version}.`)).toBe(true);
    expect(reply).toContain(`\nVersion: ${haproxy.version}\n`);
    expect(reply).toMatch(/^Pid: \d+$/m);
  });

  it('serves its default certificate in a TLS handshake', async () => {
    const served = await probeServedCertificate(haproxy.port, 'anything.example');
    expect(served.serial).toBe(haproxy.defaultCertificate?.serial);
  });

  it('knows the crt-list file it loaded', async () => {
    expect((await haproxy.command('show ssl crt-list')).split('\n')).toContain(haproxy.crtListPath);
  });

  it('finds its configuration valid with "haproxy -c" of the same binary', async () => {
    const result = await haproxy.check();
    // 2.6 and 2.8 say "Configuration file is valid"; 3.x says nothing unless -V.
    expect(result).toMatchObject({ code: 0 });
    expect(result.output).not.toContain('[ALERT]');
  });

  it('"haproxy -c" catches a crt-list line naming a file that is not there', async () => {
    const original = await readFile(haproxy.crtListPath, 'utf8');
    const missing = `${haproxy.bundlesDir}/missing.pem`;
    await writeFile(haproxy.crtListPath, `${original}${missing}\n`);
    try {
      const result = await haproxy.check();
      expect(result.code).not.toBe(0);
      expect(result.output).toContain(missing);
    } finally {
      await writeFile(haproxy.crtListPath, original);
    }
  });

  // hotcert sends a new store's crt-list line in the same write as its commit, relying on this refusal when the
  // commit does not apply.
  it('refuses to list an empty store in a crt-list', async () => {
    const path = `${haproxy.bundlesDir}/empty-store.pem`;
    expect(await haproxy.command(`new ssl cert ${path}`)).toContain('New empty certificate store');
    try {
      const reply = await haproxy.command(`add ssl crt-list ${haproxy.crtListPath} ${path}`);
      expect(reply).toContain(`certificate '${path}' is empty!`);
      expect(await haproxy.command(`show ssl crt-list ${haproxy.crtListPath}`)).not.toContain(path);
    } finally {
      await haproxy.command(`del ssl cert ${path}`);
    }
  });

  it('reloads on SIGUSR2 to the master: a new worker answers, the master stays', async () => {
    const before = await workerPid(haproxy);
    const master = haproxy.process.pid;
    haproxy.signal('SIGUSR2');
    const after = await waitFor(async () => {
      const pid = await workerPid(haproxy);
      return pid !== before && pid;
    }, { timeoutMs: 15_000, what: 'a new worker after SIGUSR2' });
    expect(after).not.toBe(before);
    expect(haproxy.process.pid).toBe(master);
    expect(haproxy.process.isRunning()).toBe(true);
    expect((await probeServedCertificate(haproxy.port, 'anything.example')).serial).toBe(haproxy.defaultCertificate?.serial);
  });

  it('restarts the same version on the same files', async () => {
    const { version: full, process: before } = haproxy;
    await haproxy.restart();
    expect(before.isRunning()).toBe(false);
    expect(haproxy.process.pid).not.toBe(before.pid);
    expect(haproxy.version).toBe(full);
    expect((await haproxy.command('show info'))).toContain(`\nVersion: ${full}\n`);
    expect((await probeServedCertificate(haproxy.port, 'anything.example')).serial).toBe(haproxy.defaultCertificate?.serial);
  });

  if (HAPROXY_SOURCES[version].kind === 'root') {
    it('runs chrooted with its mounts private to it: none on the host, none left once it stopped', async () => {
      const other = await startHaproxy({ version });
      const namespace = await readlink(`/proc/${other.process.pid}/ns/mnt`);
      try {
        expect(namespace).not.toBe(await readlink('/proc/self/ns/mnt'));
        expect(other.root).toBeDefined();
        expect(await readlink(`/proc/${other.process.pid}/root`)).toBe(other.root);
        const hostMounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n');
        expect(hostMounts.filter((line) => line.includes(` ${other.root}/`))).toEqual([]);
      } finally {
        await other.stop();
      }
      expect(await processesIn(namespace)).toEqual([]);
    });
  }
});
