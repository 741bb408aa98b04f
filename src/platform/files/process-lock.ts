import { spawn } from 'node:child_process';
import { open, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FileWriteError, LockError, LockHeldError, describeFileError } from '../../errors.js';
import { createDirectory } from './create-directory.js';

/** Who holds the lock, as the holder wrote it into the lock file (for the newcomer's message only). */
interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** What runs it, so that the message says how to reach it: systemd, a container, or a shell. */
  readonly manager: 'systemd' | 'container' | 'shell';
}

/**
 * Keeps two hotcert processes from writing to the same targets at once (HAProxy's single certificate transaction
 * would mix their certificates), between processes on the host and between containers sharing hotcert's directory.
 *
 * An flock(2) on `.hotcert.lock`, taken with util-linux's flock(1) on hotcert's own descriptor (`flock -n 3`): the
 * lock belongs to the open file description, so it stays hotcert's after flock(1) exits, and the kernel releases it
 * when hotcert dies, however it dies. Node has no flock of its own; a PID file is wrong in containers, where every
 * hotcert is PID 1 of its own namespace and a dead one's PID looks alive to the next, and it races between create
 * and write. What the file holds (PID, host, manager) only names the holder in messages.
 */
export class ProcessLock {
  readonly path: string;
  private handle: FileHandle | undefined;

  constructor(private readonly dir: string) {
    this.path = join(dir, '.hotcert.lock');
  }

  /**
   * @throws LockHeldError naming the holder and how to reach it; FileWriteError when the directory or the file
   *   cannot be created (read-only, full, no permission); LockError when flock(1) cannot be run.
   */
  async acquire(): Promise<void> {
    if (this.handle) return;
    await createDirectory(this.dir);
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'a+', 0o644);
    } catch (error) {
      throw new FileWriteError(`cannot open the lock ${this.path}: ${describeFileError(error)}`, { file: this.path }, { cause: error });
    }
    let taken = false;
    try {
      // A probe (hotcert status) may hold the lock shared for a moment: a newcomer looks again before giving up.
      for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS && !taken; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, ACQUIRE_PAUSE_MS));
        taken = await flockNonBlocking(handle.fd, 'exclusive');
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (!taken) {
      const holder = await readHolder(handle);
      await handle.close();
      throw new LockHeldError(heldMessage(this.path, holder), { file: this.path, ...(holder ? { pid: holder.pid } : {}) });
    }
    this.handle = handle;
    try {
      await handle.truncate(0);
      await handle.write(`${JSON.stringify(currentHolder())}\n`, 0);
    } catch {
      // The lock holds without its note; a newcomer's message then names no PID.
    }
  }

  /**
   * Whether a hotcert holds the lock now, and who: asked by taking it shared for a moment (read access to the
   * file is enough). Undefined when that cannot be told (no such file: nobody ever ran here; no permission).
   */
  static async probe(dir: string): Promise<{ held: false } | { held: true; pid?: number; host?: string } | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(join(dir, '.hotcert.lock'), 'r');
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? { held: false } : undefined;
    }
    try {
      if (await flockNonBlocking(handle.fd, 'shared')) return { held: false };
      const holder = await readHolder(handle);
      return holder ? { held: true, pid: holder.pid, host: holder.host } : { held: true };
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  }

  /** Closing the descriptor releases the lock. The file stays: removing it would let a newcomer lock another inode. */
  async release(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

const ACQUIRE_ATTEMPTS = 5;
const ACQUIRE_PAUSE_MS = 200;

function flockNonBlocking(fd: number, mode: 'exclusive' | 'shared'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['--nonblock', `--${mode}`, '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(new LockError(`cannot run flock(1) to take hotcert's lock: ${error.code === 'ENOENT' ? 'it is not installed (Debian: util-linux)' : error.message}`, {}, { cause: error })),
    );
    child.once('close', (code) => {
      if (code === 0) resolve(true);
      else if (code === 1) resolve(false);
      else reject(new LockError(`flock(1) failed with exit code ${code}: ${stderr.trim()}`, {}));
    });
  });
}

async function readHolder(handle: FileHandle): Promise<LockHolder | undefined> {
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const parsed = JSON.parse(buffer.subarray(0, bytesRead).toString('utf8')) as LockHolder;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function currentHolder(): LockHolder {
  // A container's hotcert is its PID 1 (the image's ENTRYPOINT); under systemd INVOCATION_ID is set.
  const manager = process.env.INVOCATION_ID ? 'systemd' : process.pid === 1 ? 'container' : 'shell';
  return { pid: process.pid, host: hostname(), manager };
}

function heldMessage(path: string, holder: LockHolder | undefined): string {
  const who = holder ? `another hotcert (pid ${holder.pid} on ${holder.host})` : 'another hotcert';
  const reach =
    holder?.manager === 'systemd'
      ? 'to resync now, send it SIGHUP: systemctl reload hotcert'
      : holder?.manager === 'container'
        ? `to resync now, send it SIGHUP: docker kill -s HUP <its container> (${holder.host}), or kubectl exec into its pod and kill -HUP 1`
        : `to resync now, send it SIGHUP${holder ? `: kill -HUP ${holder.pid}` : ''}`;
  return `${who} is writing to these targets (lock ${path}); ${reach}`;
}
