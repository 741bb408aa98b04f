import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** PEM files of a certificate, a chain and a key are a few KiB; anything near this is not one. */
export const MAX_PEM_FILE_BYTES = 1024 * 1024;

export type RegularFileRead =
  | { readonly kind: 'read'; readonly content: string }
  | { readonly kind: 'missing' }
  /** A FIFO, a socket, a device or a directory where a file was expected. */
  | { readonly kind: 'not-a-file'; readonly type: string }
  | { readonly kind: 'too-large'; readonly bytes: number }
  | { readonly kind: 'unreadable'; readonly code: string };

/**
 * Reads a file only when it is a regular file of at most `maxBytes`, without ever blocking: `readFileSync` on a
 * FIFO waits for a writer for good, and on the main thread that stops the whole daemon (its health endpoint, other
 * lineages' deploys, SIGTERM). Opened non-blocking (which lets a FIFO open at once) and checked with fstat on the
 * descriptor itself, so that what is checked is what is read. Synchronous on purpose: a few small files in the
 * page cache read in microseconds, where each fs.promises call costs a thread-pool round trip.
 */
export function readRegularFile(path: string, maxBytes = MAX_PEM_FILE_BYTES): RegularFileRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable', code };
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return { kind: 'not-a-file', type: fileType(info) };
    if (info.size > maxBytes) return { kind: 'too-large', bytes: info.size };
    const buffer = Buffer.alloc(info.size + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      // The file grew while being read: not a PEM file at rest.
      if (length > info.size) return { kind: 'too-large', bytes: length };
      // Each read asks for more than fstat's size; read(2) of a regular file returns less only at its end, so
      // reaching the size is reaching the end, without a second call to be told so (a no-op sync reads 20000 files).
      if (length === info.size) break;
    }
    return { kind: 'read', content: buffer.subarray(0, length).toString('utf8') };
  } catch (error) {
    return { kind: 'unreadable', code: (error as NodeJS.ErrnoException).code ?? 'unknown' };
  } finally {
    closeSync(fd);
  }
}

function fileType(info: ReturnType<typeof fstatSync>): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** How a failed read reads in a message: "is a FIFO", "is 2000000 bytes", "cannot be read: EACCES". */
export function describeFailedRead(read: Exclude<RegularFileRead, { kind: 'read' }>): string {
  switch (read.kind) {
    case 'missing':
      return 'does not exist';
    case 'not-a-file':
      return `is ${read.type}, not a regular file`;
    case 'too-large':
      return `is ${read.bytes} bytes, more than a PEM file can be`;
    case 'unreadable':
      return `cannot be read: ${read.code}`;
  }
}
