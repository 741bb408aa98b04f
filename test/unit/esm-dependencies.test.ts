import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watch } from 'chokidar';
import PQueue from 'p-queue';
import { waitFor } from '../helpers/wait-for.js';

// chokidar 5 and p-queue 9 are ES modules only: this proves the jest + ts-jest ESM setup runs them for real.
describe('ES module dependencies under jest', () => {
  it('p-queue 9 runs jobs one at a time in order', async () => {
    const queue = new PQueue({ concurrency: 1 });
    const order: number[] = [];
    let active = 0;
    let maxActive = 0;
    await Promise.all(
      [1, 2, 3].map((value) =>
        queue.add(async () => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await new Promise((resolve) => setTimeout(resolve, 5));
          order.push(value);
          active -= 1;
        }),
      ),
    );
    expect(order).toEqual([1, 2, 3]);
    expect(maxActive).toBe(1);
  });

  it('chokidar 5 reports a file created in a watched directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotcert-chokidar-'));
    const seen: string[] = [];
    const watcher = watch(dir, { depth: 0, ignoreInitial: true });
    try {
      watcher.on('add', (path) => seen.push(path));
      await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
      await writeFile(join(dir, 'example.conf'), 'x');
      await waitFor(() => seen.includes(join(dir, 'example.conf')), { timeoutMs: 5000, what: 'the add event' });
    } finally {
      await watcher.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
