import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './processes.js';

/** A small tmpfs mounted on a test's directory: to fill it, or to make it read-only, for real. */
export interface TestTmpfs {
  readonly dir: string;
  /** Writes a file until the file system is full (ENOSPC). */
  fill(): Promise<void>;
  /** Removes the file `fill` wrote. */
  free(): Promise<void>;
  remount(mode: 'ro' | 'rw'): Promise<void>;
  unmount(): Promise<void>;
}

async function mount(args: readonly string[]): Promise<void> {
  const result = await runCommand('mount', args);
  if (result.code !== 0) throw new Error(`mount ${args.join(' ')}: ${result.stderr}`);
}

export async function mountTmpfs(dir: string, sizeKb = 256): Promise<TestTmpfs> {
  await mount(['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0750`, 'hotcert-test', dir]);
  const filler = join(dir, '.filler');
  return {
    dir,
    fill: async () => {
      const handle = await open(filler, 'w');
      try {
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        for (;;) await handle.write(chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        await handle.close().catch(() => undefined);
      }
    },
    free: () => rm(filler, { force: true }),
    remount: (mode) => mount(['-o', `remount,${mode}`, dir]),
    unmount: async () => {
      await runCommand('umount', ['-l', dir]);
    },
  };
}
