import { statSync } from 'node:fs';
import { readFileIfExists, writeFileAtomic } from '../platform/files/atomic-file.js';
import { CrtListText, type CrtListEdit, type CrtListLine } from './crt-list-file.js';

// Between two rewrites of a busy file: this many times the last rewrite's duration, at most MAX_REWRITE_WAIT_MS.
const REWRITE_SPACING = 3;
const MAX_REWRITE_WAIT_MS = 200;

interface PendingEdit {
  readonly change: CrtListEdit;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * hotcert's crt-list file on disk. What it answers is what the file holds: the file as last read (read again when
 * it changes under hotcert, detected by inode, size and mtime) or as last written. Edits wait in a queue and are
 * written by one atomic rewrite per batch (group commit: adding ten thousand lineages does not rewrite a
 * ten-thousand-line file ten thousand times); each edit's promise settles with the write that carried it, so a
 * caller reports a line as written only when it is on disk, and every caller of a write that failed sees its error.
 */
export class CrtListStore {
  private known: { text: CrtListText; signature: string } | undefined;
  private pending: PendingEdit[] = [];
  private writing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly mode = 0o644,
  ) {}

  async lineState(line: CrtListLine): Promise<'present' | 'absent' | 'differs'> {
    return (await this.load()).state(line);
  }

  /** Puts the line for its path into the file (one line a path); resolves once it is on disk. */
  put(line: CrtListLine): Promise<void> {
    return this.edit({ kind: 'put', line });
  }

  /** Takes a path's lines out of the file; resolves once that is on disk. */
  remove(path: string): Promise<void> {
    return this.edit({ kind: 'remove', path });
  }

  private edit(change: CrtListEdit): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ change, resolve, reject });
      this.writing ??= this.writeQueued().finally(() => {
        this.writing = undefined;
      });
    });
  }

  // Never rejects: each batch's outcome goes to the edits it carried.
  private async writeQueued(): Promise<void> {
    // Let edits made in the same turn of the event loop join this write.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const startedMs = performance.now();
      try {
        const text = await this.load();
        const changes = batch.map((edit) => edit.change);
        // Rendered without a copy of the file's lines: a burst of adds rewrites a big file hundreds of times, and
        // copies were most of a 10000-lineage sync's garbage.
        await writeFileAtomic(this.path, text.renderWith(changes), { mode: this.mode });
        text.apply(changes);
        this.known = { text, signature: this.signature() };
        for (const edit of batch) edit.resolve();
      } catch (error) {
        // Not on disk: what the file holds is read again next time.
        this.known = undefined;
        for (const edit of batch) edit.reject(error);
      }
      if (this.pending.length > 0) await this.spaceRewrites(performance.now() - startedMs);
    }
  }

  // Every write rewrites the whole file, so a burst of edits (a first sync adding ten thousand lineages) written
  // as they come costs O(lines²): 2651 rewrites of a growing file for 4000 adds, most of the sync's time. Waiting a
  // few times the last rewrite's cost before the next one keeps rewrites to a fraction of the time whatever the
  // file's size, and lets the edits that arrive meanwhile share it. A lone edit is written at once.
  private spaceRewrites(lastWriteMs: number): Promise<void> {
    const waitMs = Math.min(lastWriteMs * REWRITE_SPACING, MAX_REWRITE_WAIT_MS);
    return new Promise((resolve) => setTimeout(resolve, waitMs));
  }

  private async load(): Promise<CrtListText> {
    const signature = this.signature();
    if (this.known?.signature === signature) return this.known.text;
    const raw = (await readFileIfExists(this.path)) ?? '';
    // Another load may have finished meanwhile; either copy is the file as it is.
    this.known = { text: CrtListText.parse(raw), signature };
    return this.known.text;
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
