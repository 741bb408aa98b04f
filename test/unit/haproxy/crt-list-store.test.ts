import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrtListStore } from '../../../src/haproxy/crt-list-store.js';

describe('CrtListStore on a real file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hotcert-crtlist-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no line when many deploys stage and flush at once, while writes are in flight', async () => {
    const file = join(dir, 'crt-list.txt');
    await writeFile(file, '# operator comment\n/etc/h/default.pem\n');
    const store = new CrtListStore(file);
    const paths = Array.from({ length: 200 }, (_, index) => `/etc/h/certs/l${index}.pem`);
    await Promise.all(
      paths.map(async (path, index) => {
        await new Promise((resolve) => setTimeout(resolve, index % 7));
        await store.put({ path, sniFilters: [] });
      }),
    );
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['# operator comment', '/etc/h/default.pem']);
    expect(lines.slice(2).sort()).toEqual([...paths].sort());
  });

  it('rejects every edit that a failed write carried', async () => {
    // A file where its directory should be: the write fails for root too (ENOTDIR), as on a full or read-only disk.
    await writeFile(join(dir, 'not-a-dir'), '');
    const store = new CrtListStore(join(dir, 'not-a-dir', 'crt-list.txt'));
    const results = await Promise.allSettled(['a', 'b', 'c'].map((name) => store.put({ path: `/etc/h/${name}.pem`, sniFilters: [] })));
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('sees an operator\'s edit made behind its back', async () => {
    const file = join(dir, 'crt-list.txt');
    await writeFile(file, '/etc/h/default.pem\n');
    const store = new CrtListStore(file);
    expect(await store.lineState({ path: '/etc/h/a.pem', sniFilters: [] })).toBe('absent');
    await writeFile(file, '/etc/h/default.pem\n/etc/h/a.pem\n');
    expect(await store.lineState({ path: '/etc/h/a.pem', sniFilters: [] })).toBe('present');
    await store.put({ path: '/etc/h/b.pem', sniFilters: [] });
    expect(await readFile(file, 'utf8')).toBe('/etc/h/default.pem\n/etc/h/a.pem\n/etc/h/b.pem\n');
  });
});
