import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fsync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FileWriteError, describeFileError } from '../../errors.js';

// hotcert's temp files: a name of their own, so that what a killed process left (with a private key in it) is
// found and removed at the next start, and a long file name leaves room for it.
const TEMP_PREFIX = '.hotcert-';
const TEMP_FILE = /^\.hotcert-[0-9a-f]{16}\.tmp$/;
// What versions before 0.2 named them: `.<file>.<pid>.<8 hex>.tmp`.
const OLD_TEMP_FILE = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

/** Removes the temp files a killed hotcert left in `dir`; returns their names. A missing directory has none. */
export async function removeLeftoverTempFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new FileWriteError(`cannot read ${dir}: ${describeFileError(error)}`, { file: dir }, { cause: error });
  }
  const leftovers = entries.filter((entry) => TEMP_FILE.test(entry) || OLD_TEMP_FILE.test(entry));
  for (const entry of leftovers) await removeFileDurably(join(dir, entry));
  return leftovers;
}

export interface FileOwnership {
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
  /** The process's umask, when known: a mode it clears no bit of needs no chmod after open(2). */
  readonly umask?: number;
}

export interface WriteOptions extends FileOwnership {
  /** Share the directory fsync with other writes into the same directory at the same time. */
  readonly directorySync?: DirectorySync;
}

/**
 * Replaces `path` with `content` so that a reader (HAProxy at a reload) sees the old file or the new one, never a part:
 * a temp file in the same directory is written with its final mode and owner, fsynced, renamed over the target, and
 * the directory is fsynced so that the rename survives a crash.
 * @throws FileWriteError naming the file; the temp file is removed.
 */
export async function writeFileAtomic(path: string, content: string, ownership: WriteOptions): Promise<void> {
  const temp = tempPathBeside(path);
  try {
    const handle = await open(temp, 'wx', ownership.mode);
    try {
      await handle.writeFile(content);
      if (umaskTakesFrom(ownership)) await handle.chmod(ownership.mode);
      const owner = ownerToSet(ownership);
      if (owner) await handle.chown(...owner);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncDirectory(dirname(path), ownership.directorySync);
  } catch (error) {
    // The write failed; the error below reports it. A temp file that cannot be removed either is named in it.
    const leftOver = await unlink(temp).then(
      () => false,
      (unlinkError: NodeJS.ErrnoException) => unlinkError.code !== 'ENOENT',
    );
    throw writeFailure(path, error, leftOver ? temp : undefined);
  }
}

/**
 * writeFileAtomic for a file of a few KiB (a bundle), with the same guarantees and messages: the temp file is
 * created, written, closed and renamed by direct system calls, and only the fsyncs wait in the thread pool. Each
 * fs.promises step is a round trip through the pool (a pool thread woken, then the main thread): seven per file,
 * most of a bulk deploy's thread switches, where these calls on a small file take microseconds.
 * @throws FileWriteError naming the file; the temp file is removed.
 */
export async function writeSmallFileAtomic(path: string, content: string, ownership: WriteOptions): Promise<void> {
  const temp = tempPathBeside(path);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', ownership.mode);
    const bytes = Buffer.from(content, 'utf8');
    // A regular file's write(2) writes it all or fails (ENOSPC, EDQUOT), short only when interrupted: kept writing.
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    if (umaskTakesFrom(ownership)) fchmodSync(fd, ownership.mode);
    const owner = ownerToSet(ownership);
    if (owner) fchownSync(fd, ...owner);
    await fsyncInPool(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
    await syncDirectory(dirname(path), ownership.directorySync);
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // The write's own failure is what is reported; a descriptor that does not close is gone all the same.
      }
    }
    let leftOver = false;
    try {
      unlinkSync(temp);
    } catch (unlinkError) {
      leftOver = (unlinkError as NodeJS.ErrnoException).code !== 'ENOENT';
    }
    throw writeFailure(path, error, leftOver ? temp : undefined);
  }
}

// open(2) applies the umask: a chmod sets exactly the configured mode when the umask may have taken bits from it.
function umaskTakesFrom(ownership: FileOwnership): boolean {
  return ownership.umask === undefined || (ownership.mode & ownership.umask) !== 0;
}

// chown(2) leaves an id of -1 as it is: only what is configured is set, and nothing when neither is.
function ownerToSet(ownership: FileOwnership): [uid: number, gid: number] | undefined {
  return ownership.uid === undefined && ownership.gid === undefined ? undefined : [ownership.uid ?? -1, ownership.gid ?? -1];
}

function tempPathBeside(path: string): string {
  return join(dirname(path), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}.tmp`);
}

function writeFailure(path: string, error: unknown, leftOverTemp: string | undefined): FileWriteError {
  return new FileWriteError(
    `cannot write ${path}: ${describeFileError(error)}${leftOverTemp ? ` (temp file ${leftOverTemp} left behind; removed at the next start)` : ''}`,
    { file: path },
    { cause: error },
  );
}

function fsyncInPool(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
}

/** Removes `path` durably (the directory entry is fsynced). */
export async function removeFileDurably(path: string, directorySync?: DirectorySync): Promise<void> {
  try {
    await unlink(path);
    await syncDirectory(dirname(path), directorySync);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new FileWriteError(`cannot remove ${path}: ${describeFileError(error)}`, { file: path }, { cause: error });
  }
}

/**
 * fsyncs of directories, shared: renames into one directory that wait at the same time are made durable by one
 * fsync that starts after all of them (a bulk sync renames thousands of bundles; one fsync each dominated). A
 * caller resolves only after an fsync that began after its own rename. One per owner of files (hotcert's bundle
 * files), never a module-wide one.
 */
export class DirectorySync {
  private readonly states = new Map<string, { running: Promise<void> | undefined; next: Promise<void> | undefined }>();

  sync(dir: string): Promise<void> {
    let state = this.states.get(dir);
    if (!state) {
      state = { running: undefined, next: undefined };
      this.states.set(dir, state);
    }
    const current = state;
    if (!current.running) {
      current.running = fsyncDirectory(dir).finally(() => {
        current.running = undefined;
        if (!current.next) this.states.delete(dir);
      });
      return current.running;
    }
    // One is running: it may have begun before this rename, so the next one (shared by all who wait) counts.
    current.next ??= current.running
      .catch(() => undefined)
      .then(() => {
        current.next = undefined;
        return this.sync(dir);
      });
    return current.next;
  }
}

function syncDirectory(dir: string, shared: DirectorySync | undefined): Promise<void> {
  return shared ? shared.sync(dir) : fsyncDirectory(dir);
}

// Opened and closed by direct system calls like a bundle's temp file (writeSmallFileAtomic): with fs.promises the
// open and the close were two more round trips through the thread pool for each fsync a bulk deploy waits on.
async function fsyncDirectory(dir: string): Promise<void> {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsyncInPool(fd);
  } finally {
    closeSync(fd);
  }
}

/** The file's text, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
