import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectorySync, writeFileAtomic, writeSmallFileAtomic } from '../../../src/platform/files/atomic-file.js';
import { FileWriteError } from '../../../src/errors.js';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir.js';

// Both writers keep the same promise: the old file or the new one, never a part, and no temp file (it holds a
// private key) left behind, whatever fails.
describe.each([
  ['writeFileAtomic', writeFileAtomic],
  ['writeSmallFileAtomic', writeSmallFileAtomic],
])('%s', (_name, write) => {
  let temp: TempDir;
  beforeEach(async () => {
    temp = await makeTempDir('atomic-file');
  });
  afterEach(() => temp.remove());

  it('replaces the file with the content, with exactly the mode asked for, and leaves nothing else', async () => {
    const path = join(temp.path, 'site.pem');
    await writeFile(path, 'old bundle\n');
    await write(path, 'new bundle\n', { mode: 0o640, umask: 0o077, directorySync: new DirectorySync() });
    expect(await readFile(path, 'utf8')).toBe('new bundle\n');
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    expect(await readdir(temp.path)).toEqual(['site.pem']);
  });

  it('names the file and the reason when its directory is missing', async () => {
    const path = join(temp.path, 'missing', 'site.pem');
    const failed = write(path, 'bundle\n', { mode: 0o600 });
    await expect(failed).rejects.toBeInstanceOf(FileWriteError);
    await expect(failed).rejects.toThrow(`cannot write ${path}: no such file or directory`);
  });

  it('removes its temp file when the rename fails, and leaves what was there', async () => {
    // A directory where the file should be: the temp file is written, and the rename over the directory fails.
    const path = join(temp.path, 'site.pem');
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'untouched');
    await expect(write(path, 'bundle\n', { mode: 0o600 })).rejects.toThrow(`cannot write ${path}: is a directory`);
    expect(await readdir(temp.path)).toEqual(['site.pem']);
    expect(await readFile(join(path, 'inside'), 'utf8')).toBe('untouched');
  });
});
