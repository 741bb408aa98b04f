import { open, readFile, unlink } from 'node:fs/promises';
import { createDirectory } from './create-directory.js';
import { join } from 'node:path';
import { LockHeldError } from '../../errors.js';

/**
 * Keeps two hotcert processes from writing to the same targets at once (HAProxy's single transaction would mix
 * their certificates). The lock is a file holding the owner's PID in hotcert's own directory, beside the crt-list
 * that every process writing these targets shares; a lock whose PID is gone is stale and taken over.
 */
export class ProcessLock {
  readonly path: string;
  private held = false;

  constructor(private readonly dir: string) {
    this.path = join(dir, '.hotcert.lock');
  }

  /** @throws LockHeldError naming the PID that holds it. */
  async acquire(): Promise<void> {
    // hotcert's own directory: created on first start, like the bundles directory below it.
    await createDirectory(this.dir);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const handle = await open(this.path, 'wx', 0o644);
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        this.held = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await this.owner();
      if (owner !== undefined && isAlive(owner)) {
        throw new LockHeldError(
          `another hotcert (pid ${owner}) is writing to these targets (lock ${this.path}); to resync now, send it SIGHUP (systemctl reload hotcert)`,
          { file: this.path, pid: owner },
        );
      }
      await unlink(this.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    throw new LockHeldError(`could not take the lock ${this.path}: another process keeps creating it`, { file: this.path });
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    if ((await this.owner()) === process.pid) await unlink(this.path);
  }

  async owner(): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(this.path, 'utf8')).trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
