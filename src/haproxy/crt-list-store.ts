import { statSync } from 'node:fs';
import { readFileIfExists, writeFileAtomic } from '../platform/files/atomic-file.js';
import { CrtListText, type CrtListLine } from './crt-list-file.js';

/**
 * hotcert's crt-list file on disk. It is read again when it changes under hotcert (an operator's edit, detected by
 * inode, size and mtime); edits are made in memory and written by one atomic rewrite per batch (group commit), so
 * adding ten thousand lineages does not rewrite a ten-thousand-line file ten thousand times.
 */
export class CrtListStore {
  private current: { text: CrtListText; signature: string } | undefined;
  /** Edits not yet on disk; further edits build on them. */
  private dirty = false;
  private flushing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly mode = 0o644,
  ) {}

  async lineState(line: CrtListLine): Promise<'present' | 'absent' | 'differs'> {
    return (await this.load()).state(line);
  }

  /** Puts the line into the file's text in memory; `flush()` writes it. False when it was there already. */
  async stageLine(line: CrtListLine): Promise<boolean> {
    const text = await this.load();
    // No await between the check and the edit: concurrent deploys must not overwrite each other's edits.
    if (text.state(line) === 'present') return false;
    text.put(line);
    this.dirty = true;
    return true;
  }

  /** Takes a path's line back out (a runtime add that failed) and writes the file. */
  async removeLine(path: string): Promise<void> {
    (await this.load()).remove(path);
    this.dirty = true;
    await this.flush();
  }

  /** Writes what is staged; callers that edit while a write runs are covered by the next write. */
  async flush(): Promise<void> {
    while (this.dirty || this.flushing !== undefined) {
      if (this.flushing !== undefined) {
        await this.flushing;
        continue;
      }
      this.flushing = this.writeStaged();
      try {
        await this.flushing;
      } finally {
        this.flushing = undefined;
      }
    }
  }

  private async writeStaged(): Promise<void> {
    // Let edits made in the same turn of the event loop join this write.
    await new Promise((resolve) => setImmediate(resolve));
    if (!this.dirty || !this.current) return;
    this.dirty = false;
    const current = this.current;
    try {
      await writeFileAtomic(this.path, current.text.render(), { mode: this.mode });
    } catch (error) {
      // Not on disk: the next load reads the file again, so nothing in memory claims otherwise.
      this.current = undefined;
      throw error;
    }
    if (this.current === current) current.signature = this.signature();
  }

  private async load(): Promise<CrtListText> {
    if (this.memoryIsCurrent()) return (this.current as { text: CrtListText }).text;
    const signature = this.signature();
    // Checked again after every await: another deploy may have edited or loaded meanwhile, and edits must all go
    // to one object, never to a stale copy.
    if (this.memoryIsCurrent(signature)) return (this.current as { text: CrtListText }).text;
    const raw = (await readFileIfExists(this.path)) ?? '';
    if (this.memoryIsCurrent(signature)) return (this.current as { text: CrtListText }).text;
    this.current = { text: CrtListText.parse(raw), signature };
    return this.current.text;
  }

  /** Memory is the truth while edits are staged or being written, or when the file has not changed since read. */
  private memoryIsCurrent(signature?: string): boolean {
    if (!this.current) return false;
    return this.dirty || this.flushing !== undefined || this.current.signature === signature;
  }

  // Synchronous: asked once per lineage and target on every sync; a thread-pool round trip per call dominated.
  private signature(): string {
    try {
      const info = statSync(this.path);
      return `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw error;
    }
  }
}
