import { lstat, readFile, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeAtomically, type AtomicWriteStep } from '../helpers/atomic-writer.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

const TIMESTAMP_DIR = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$/;

describe('kubelet AtomicWriter stand-in', () => {
  let temp: TempDir;
  let volume: string;
  beforeEach(async () => {
    temp = await makeTempDir('atomic-writer');
    volume = join(temp.path, 'volume');
  });
  afterEach(() => temp.remove());

  const entries = async (): Promise<string[]> => (await readdir(volume)).sort();
  const timestampDirs = async (): Promise<string[]> => (await entries()).filter((name) => TIMESTAMP_DIR.test(name));

  it('lays out a first write as kubelet does: a timestamped dir, ..data, and links through ..data', async () => {
    const result = await writeAtomically(volume, { 'tls.crt': 'cert 1', 'tls.key': 'key 1' }, { now: () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) });

    expect(result.written).toBe(true);
    expect(result.dataDir).toMatch(/^\.\.2026_01_02_03_04_05\.\d+$/);
    expect(await entries()).toEqual(['..data', result.dataDir, 'tls.crt', 'tls.key'].sort());
    expect(await readlink(join(volume, '..data'))).toBe(result.dataDir);
    expect(await readlink(join(volume, 'tls.crt'))).toBe('..data/tls.crt');
    expect(await readlink(join(volume, 'tls.key'))).toBe('..data/tls.key');
    expect((await stat(join(volume, result.dataDir))).mode & 0o777).toBe(0o755);
    expect((await stat(join(volume, result.dataDir, 'tls.key'))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(volume, 'tls.crt'), 'utf8')).toBe('cert 1');
  });

  it('leaves the user-visible links dangling on a first write until ..data is renamed into place', async () => {
    const seen: Partial<Record<AtomicWriteStep, boolean>> = {};
    await writeAtomically(volume, { 'tls.crt': 'cert 1' }, {
      onStep: async (step) => {
        seen[step] = await stat(join(volume, 'tls.crt')).then(() => true, () => false);
      },
    });

    expect((await lstat(join(volume, 'tls.crt'))).isSymbolicLink()).toBe(true);
    expect(seen).toEqual({
      'payload-written': false,
      'links-created': false,
      'data-tmp-created': false,
      'data-swapped': true,
      'old-paths-removed': true,
      'old-dir-removed': true,
    });
  });

  it('updates into a new directory, flips ..data and removes the old directory', async () => {
    const first = await writeAtomically(volume, { 'tls.crt': 'cert 1', 'tls.key': 'key 1' });
    const second = await writeAtomically(volume, { 'tls.crt': 'cert 2', 'tls.key': 'key 2' });

    expect(second.dataDir).not.toBe(first.dataDir);
    expect(await timestampDirs()).toEqual([second.dataDir]);
    expect(await readlink(join(volume, '..data'))).toBe(second.dataDir);
    expect(await readFile(join(volume, 'tls.key'), 'utf8')).toBe('key 2');
    expect(await entries()).not.toContain('..data_tmp');
  });

  it('still resolves ..data to the old content between ..data_tmp and the rename', async () => {
    const first = await writeAtomically(volume, { 'tls.crt': 'cert 1', 'tls.key': 'key 1' });
    let between: Record<string, string | undefined> | undefined;
    await writeAtomically(volume, { 'tls.crt': 'cert 2', 'tls.key': 'key 2' }, {
      onStep: async (step, state) => {
        if (step !== 'data-tmp-created') return;
        between = {
          data: await readlink(join(volume, '..data')),
          certDir: basename(dirname(await realpath(join(volume, 'tls.crt')))),
          cert: await readFile(join(volume, 'tls.crt'), 'utf8'),
          key: await readFile(join(volume, 'tls.key'), 'utf8'),
          dataTmp: await readlink(join(volume, '..data_tmp')),
          newDir: state.newDir,
          oldDir: state.oldDir,
        };
      },
    });

    expect(between).toEqual({ data: first.dataDir, certDir: first.dataDir, cert: 'cert 1', key: 'key 1', dataTmp: between?.newDir, newDir: expect.stringMatching(TIMESTAMP_DIR), oldDir: first.dataDir });
  });

  it('links a projected item by its first path component and drops an item no longer projected', async () => {
    await writeAtomically(volume, {
      'example-com-tls/tls.crt': 'com cert',
      'example-com-tls/tls.key': 'com key',
      'example-org-tls/tls.crt': 'org cert',
      'example-org-tls/tls.key': 'org key',
    });
    expect(await readlink(join(volume, 'example-org-tls'))).toBe('..data/example-org-tls');
    expect(await readFile(join(volume, 'example-org-tls', 'tls.key'), 'utf8')).toBe('org key');

    const linkGoneAt: AtomicWriteStep[] = [];
    const result = await writeAtomically(volume, { 'example-com-tls/tls.crt': 'com cert', 'example-com-tls/tls.key': 'com key' }, {
      onStep: async (step) => {
        if (!(await lstat(join(volume, 'example-org-tls')).then(() => true, () => false))) linkGoneAt.push(step);
      },
    });

    expect(result.written).toBe(true);
    expect(linkGoneAt[0]).toBe('old-paths-removed');
    expect(await entries()).toEqual(['..data', result.dataDir, 'example-com-tls'].sort());
    expect(await readdir(join(volume, '..data'))).toEqual(['example-com-tls']);
    expect(await readFile(join(volume, 'example-com-tls', 'tls.crt'), 'utf8')).toBe('com cert');
  });

  it('writes nothing when the payload is unchanged, as kubelet skips it', async () => {
    const first = await writeAtomically(volume, { 'tls.crt': 'cert 1' });
    const steps: AtomicWriteStep[] = [];
    const again = await writeAtomically(volume, { 'tls.crt': 'cert 1' }, { onStep: (step) => void steps.push(step) });

    expect(again).toEqual({ written: false, dataDir: first.dataDir });
    expect(steps).toEqual([]);
    expect(await timestampDirs()).toEqual([first.dataDir]);
  });

  it('applies the volume defaultMode and an item mode exactly, past the umask', async () => {
    const result = await writeAtomically(volume, { 'tls.crt': 'cert', 'tls.key': { content: 'key', mode: 0o400 } }, { defaultMode: 0o660 });

    expect((await stat(join(volume, result.dataDir, 'tls.crt'))).mode & 0o777).toBe(0o660);
    expect((await stat(join(volume, result.dataDir, 'tls.key'))).mode & 0o777).toBe(0o400);
  });

  it.each(['/etc/passwd', '../escape', 'a/../../b', '..data', ''])('refuses the payload path %j as kubelet does', async (path) => {
    await expect(writeAtomically(volume, { [path]: 'x' })).rejects.toThrow(/invalid payload path/);
  });
});
