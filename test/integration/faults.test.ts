import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDroppingProxy } from '../helpers/dropping-proxy.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { describeEachHaproxy, type HaproxyVersion } from '../helpers/haproxy-versions.js';
import { HOTCERT_BIN, runHotcert, type CliResult } from '../helpers/hotcert-cli.js';
import { bundleLeafSha1, expectInvariants, servedStores, tempFiles } from '../helpers/invariants.js';
import { makeTestLineage, writeLineage, type TestLineagePems } from '../helpers/lineage-pems.js';
import { startProcess } from '../helpers/processes.js';
import { forEachLimited, makeIssuer, writeSyntheticLineage } from '../helpers/synthetic-lineages.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { mountTmpfs, type TestTmpfs } from '../helpers/tmpfs.js';
import { probeServedCertificate } from '../helpers/tls-probe.js';
import { waitFor } from '../helpers/wait-for.js';
import { canonicalSerial } from '../../src/core/serial.js';

/** `YYYYMMDDHHMMSSZ`, `days` from now, as openssl ca -startdate takes it. */
function opensslDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z').slice(2);
}

function bundleOf(pems: Omit<TestLineagePems, 'serial'>): string {
  return pems.fullchain + pems.privkey;
}

/** Another runtime API client putting its own certificate into a store (one connection per command, no prompt). */
async function foreignCommit(haproxy: TestHaproxy, path: string, bundle: string): Promise<void> {
  const lines = bundle.split('\n').filter((line) => line.trim() !== '');
  expect(await haproxy.command(`set ssl cert ${path} <<\n${lines.join('\n')}\n`)).toContain('Transaction');
  expect(await haproxy.command(`commit ssl cert ${path}`)).toContain('Success!');
}

async function config(temp: TempDir, haproxy: TestHaproxy, lines: readonly string[] = [], runtime = `unix:${haproxy.socketPath}`, name = 'hotcert.yaml'): Promise<string> {
  const file = join(temp.path, name);
  await writeFile(
    file,
    [
      `letsencrypt: { dir: ${join(temp.path, 'letsencrypt')} }`,
      `bundles: { dir: ${haproxy.bundlesDir} }`,
      `crtList: { file: ${haproxy.crtListPath} }`,
      `state: { file: ${join(temp.path, 'state.json')} }`,
      'targets:',
      `  - { name: edge, runtime: "${runtime}", maxCommandBytes: 16000 }`,
      ...lines,
      '',
    ].join('\n'),
  );
  return file;
}

/** As `certbot delete` leaves it: no live/ or archive/ directory (a one-shot sync leaves HAProxy as it is). */
async function removeLineage(letsencryptDir: string, name: string): Promise<void> {
  await rm(join(letsencryptDir, 'live', name), { recursive: true, force: true });
  await rm(join(letsencryptDir, 'archive', name), { recursive: true, force: true });
}

const sync = (file: string, ...args: string[]): Promise<CliResult> => runHotcert(['sync', '--config', file, ...args], { HOTCERT_LOG_FORMAT: 'text' });

describeEachHaproxy('faults: disk, crt-list and HAProxy agree after every one', (version: HaproxyVersion) => {
  let temp: TempDir;
  let haproxy: TestHaproxy;
  let le: string;
  const outputs: CliResult[] = [];

  beforeAll(async () => {
    temp = await makeTempDir('faults');
    le = join(temp.path, 'letsencrypt');
    // Buffers too small for an RSA bundle, large enough for an ECDSA one (3.4 reads payloads up to
    // tune.cli.max-payload-size instead).
    haproxy = await startHaproxy({ version, strictSni: true, extraGlobal: version === '3.4' ? ['tune.bufsize 3072', 'tune.cli.max-payload-size 3072'] : ['tune.bufsize 3072'] });
  });

  afterAll(async () => {
    await haproxy?.stop();
    await temp?.remove();
  });

  afterEach(() => {
    // No secret in anything hotcert printed, whatever the fault.
    for (const output of outputs.splice(0)) expect(output.stdout + output.stderr).not.toMatch(/BEGIN|PRIVATE KEY/);
  });

  const run = async (file: string, ...args: string[]): Promise<CliResult> => {
    const result = await sync(file, ...args);
    outputs.push(result);
    return result;
  };

  it('a bundle HAProxy cannot take among new lineages: nothing of it is left, and HAProxy restarts on the files', async () => {
    await writeLineage(le, 'aaa-big', await makeTestLineage(['big.test'], { keyType: 'rsa' }));
    await writeLineage(le, 'bbb', await makeTestLineage(['bbb.test']));
    const result = await run(await config(temp, haproxy));
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/deploy failed lineage=aaa-big target=edge/);
    expect(result.stderr).toMatch(/certificate added lineage=bbb target=edge/);
    await expect(readFile(join(haproxy.bundlesDir, 'aaa-big.pem'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(haproxy.crtListPath, 'utf8')).toBe(`${haproxy.bundlesDir}/bbb.pem\n`);
    expect(await haproxy.command(`show ssl cert ${haproxy.bundlesDir}/aaa-big.pem`)).toMatch(/Not found/);
    expect(Object.keys(await expectInvariants(haproxy))).toEqual([`${haproxy.bundlesDir}/bbb.pem`]);
    await removeLineage(le, 'aaa-big');
  });

  it('a store HAProxy refuses at "add ssl crt-list": the store it made and its bundle file go again', async () => {
    await writeLineage(le, 'ccc', await makeTestLineage(['ccc.test']));
    const result = await run(await config(temp, haproxy, ['lineages: { ccc: { sslOptions: "ciphers NOT-A-CIPHER" } }'], undefined, 'ciphers.yaml'));
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/deploy failed lineage=ccc target=edge .*HAProxy refused \\"add ssl crt-list/);
    expect(await haproxy.command(`show ssl cert ${haproxy.bundlesDir}/ccc.pem`)).toMatch(/Not found/);
    await expect(readFile(join(haproxy.bundlesDir, 'ccc.pem'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expectInvariants(haproxy);
    await removeLineage(le, 'ccc');
  });

  it('a commit whose reply is lost: what HAProxy applied is reported once served, and stays on disk', async () => {
    const proxy = await startDroppingProxy(temp.path, haproxy.socketPath, 'commit ssl cert', 2);
    try {
      const first = await makeTestLineage(['lost.test']);
      await writeLineage(le, 'lost', first);
      const through = await config(temp, haproxy, [], `unix:${proxy.path}`, 'proxy.yaml');
      const added = await run(through);
      expect(added.code).toBe(0);
      expect(added.stderr).toMatch(/certificate added lineage=lost target=edge/);
      const renewed = await makeTestLineage(['lost.test']);
      await writeLineage(le, 'lost', renewed, 2);
      const deployed = await run(through);
      expect(deployed.code).toBe(0);
      expect(deployed.stderr).toMatch(/certificate deployed lineage=lost target=edge/);
      expect(proxy.dropped()).toBe(2);
      expect(canonicalSerial((await probeServedCertificate(haproxy.port, 'lost.test')).serial)).toBe(canonicalSerial(renewed.serial));
      expect(await readFile(join(haproxy.bundlesDir, 'lost.pem'), 'utf8')).toBe(bundleOf(renewed).split('\n').filter((line) => line.trim() !== '').join('\n') + '\n');
    } finally {
      await proxy.close();
    }
    await expectInvariants(haproxy);
  });

  it('another writer\'s certificate in hotcert\'s store is replaced at the next sync (known by content, not serial)', async () => {
    const path = `${haproxy.bundlesDir}/bbb.pem`;
    const ours = bundleLeafSha1(path);
    await foreignCommit(haproxy, path, bundleOf(await makeTestLineage(['bbb.test'], { startDate: opensslDate(-10) })));
    expect((await servedStores(haproxy))[path]).not.toBe(ours);
    const result = await run(await config(temp, haproxy));
    expect(result.stderr).toMatch(/certificate deployed lineage=bbb target=edge/);
    expect((await servedStores(haproxy))[path]).toBe(ours);
  });

  it('a renewal is not held back by a newer or not-yet-valid certificate another writer put into the store', async () => {
    const path = `${haproxy.bundlesDir}/bbb.pem`;
    await foreignCommit(haproxy, path, bundleOf(await makeTestLineage(['bbb.test'], { startDate: opensslDate(2) })));
    const renewed = await makeTestLineage(['bbb.test']);
    await writeLineage(le, 'bbb', renewed, 2);
    const result = await run(await config(temp, haproxy));
    expect(result.stderr).toMatch(/certificate deployed lineage=bbb target=edge/);
    expect((await servedStores(haproxy))[path]).toBe(bundleLeafSha1(path));
    expect(await readFile(path, 'utf8')).toContain(renewed.cert.trim().split('\n')[1]);
  });

  it('links moved back to an older certificate than hotcert deployed: held, not rolled back', async () => {
    const older = await makeTestLineage(['bbb.test'], { startDate: opensslDate(-20) });
    await writeLineage(le, 'bbb', older, 3);
    const path = `${haproxy.bundlesDir}/bbb.pem`;
    const before = (await servedStores(haproxy))[path];
    const result = await run(await config(temp, haproxy), 'bbb');
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/certificate held back lineage=bbb target=edge .*older .*than the one hotcert deployed/);
    expect((await servedStores(haproxy))[path]).toBe(before);
    // The operator's way out: --force deploys it.
    expect((await run(await config(temp, haproxy), '--force', 'bbb')).stderr).toMatch(/certificate deployed lineage=bbb/);
  });

  it('the same leaf with its chain fixed is deployed (the chain is part of what is served)', async () => {
    const pems = await makeTestLineage(['chain.test']);
    await writeLineage(le, 'chain', pems);
    expect((await run(await config(temp, haproxy), 'chain')).code).toBe(0);
    const path = `${haproxy.bundlesDir}/chain.pem`;
    expect((await haproxy.command(`show ssl cert ${path}`)).match(/^Chain Subject:/gm)).toHaveLength(1);
    // A new archive version with the same leaf and key and a longer chain (the intermediate twice: valid, signed).
    await writeLineage(le, 'chain', { ...pems, chain: pems.chain + pems.chain, fullchain: pems.cert + pems.chain + pems.chain }, 2);
    const result = await run(await config(temp, haproxy), 'chain');
    expect(result.stderr).toMatch(/certificate deployed lineage=chain target=edge/);
    expect((await haproxy.command(`show ssl cert ${path}`)).match(/^Chain Subject:/gm)).toHaveLength(2);
    expect((await run(await config(temp, haproxy), 'chain')).stderr).toMatch(/unchanged=1/);
  });

  it('SIGKILL in the middle of a sync: the files stay loadable, the next run leaves no temp file and converges', async () => {
    const issuer = await makeIssuer();
    const names = Array.from({ length: 150 }, (_, index) => `kill${index}`);
    await forEachLimited(names, 8, (name) => writeSyntheticLineage(le, issuer, name, 1));
    const file = await config(temp, haproxy);
    const child = startProcess('hotcert sync', process.execPath, [HOTCERT_BIN, 'sync', '--config', file], { env: { ...process.env, HOTCERT_LOG_FORMAT: 'text' } });
    await waitFor(async () => (await readFile(haproxy.crtListPath, 'utf8')).split('\n').filter((line) => line.includes('/kill')).length >= 10, { timeoutMs: 60_000, intervalMs: 5, what: 'some lineages to be added' });
    await child.stop('SIGKILL');
    const lines = (await readFile(haproxy.crtListPath, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(names.length + 2);
    expect((await haproxy.check()).code).toBe(0);
    const again = await run(file);
    expect(again.code).toBe(0);
    expect(tempFiles(haproxy.bundlesDir, haproxy.hotcertDir)).toEqual([]);
    const served = await expectInvariants(haproxy);
    expect(names.filter((name) => !served[`${haproxy.bundlesDir}/${name}.pem`])).toEqual([]);
  });
}, ['2.6', '3.4']);

describeEachHaproxy('faults: hotcert\'s files on a full or read-only file system', (version: HaproxyVersion) => {
  let temp: TempDir;
  let haproxy: TestHaproxy;
  let listFs: TestTmpfs | undefined;
  let le: string;
  let bundlesDir: string;

  beforeAll(async () => {
    temp = await makeTempDir('faults-disk');
    le = join(temp.path, 'letsencrypt');
    bundlesDir = join(temp.path, 'bundles');
    await mkdir(bundlesDir, { mode: 0o750 });
    haproxy = await startHaproxy({
      version,
      strictSni: true,
      // The crt-list's directory on a small file system of its own; the bundles elsewhere.
      beforeStart: async ({ crtListPath }) => {
        listFs = await mountTmpfs(join(crtListPath, '..'));
        await writeFile(crtListPath, '');
      },
    });
  });

  afterAll(async () => {
    await haproxy?.stop().catch(() => undefined);
    await listFs?.unmount();
    await temp?.remove();
  });

  const configFor = async (): Promise<string> => {
    const file = join(temp.path, 'hotcert.yaml');
    await writeFile(
      file,
      [
        `letsencrypt: { dir: ${le} }`,
        `bundles: { dir: ${bundlesDir} }`,
        `crtList: { file: ${haproxy.crtListPath} }`,
        `state: { file: ${join(temp.path, 'state.json')} }`,
        'targets:',
        `  - { name: edge, runtime: "unix:${haproxy.socketPath}", bundlesDir: ${bundlesDir} }`,
        '',
      ].join('\n'),
    );
    return file;
  };

  it('a full disk under the crt-list: nothing is reported added, the file keeps what it held, exit 74', async () => {
    await writeLineage(le, 'full', await makeTestLineage(['full.test']));
    await listFs?.fill();
    const file = await configFor();
    const result = await sync(file);
    expect(result.code).toBe(74);
    expect(result.stderr).not.toMatch(/certificate added/);
    expect(result.stderr).toMatch(new RegExp(`error_code=FILE_WRITE_FAILED error="cannot write ${haproxy.crtListPath}: no space left on the device \\(ENOSPC\\)"`));
    expect(await readFile(haproxy.crtListPath, 'utf8')).toBe('');
    expect((await haproxy.check()).code).toBe(0);
    // HAProxy serves it at runtime, and status says a restart would not.
    const status = await runHotcert(['status', '--config', file]);
    expect(status.code).toBe(2);
    expect(status.stdout.split('\n')[0]).toMatch(/^HOTCERT CRITICAL - 1 not in sync \(full on edge: unsaved\)/);

    await listFs?.free();
    const again = await sync(file);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/certificate deployed lineage=full target=edge .*reason="served already; crt-list line brought in step"/);
    await expectInvariants(haproxy);
  });

  it('a read-only crt-list directory: exit 73 naming the file, nothing served changes', async () => {
    const renewed = await makeTestLineage(['full.test']);
    await writeLineage(le, 'ro', await makeTestLineage(['ro.test']));
    await writeLineage(le, 'full', renewed, 2);
    await listFs?.remount('ro');
    try {
      const result = await sync(await configFor());
      expect(result.code).toBe(73);
      expect(result.stderr).toMatch(/the file system is read-only \(EROFS\)/);
      expect(result.stderr).not.toMatch(/certificate added lineage=ro/);
    } finally {
      await listFs?.remount('rw');
    }
    const again = await sync(await configFor());
    expect({ code: again.code, errors: again.stderr.split('\n').filter((line) => line.includes(' error ')) }).toEqual({ code: 0, errors: [] });
    expect(canonicalSerial((await probeServedCertificate(haproxy.port, 'full.test')).serial)).toBe(canonicalSerial(renewed.serial));
    await expectInvariants(haproxy);
  });
}, ['2.6', '3.4']);
