import { stat } from 'node:fs/promises';
import { readFileIfExists, writeFileAtomic } from '../bundle/atomic-file.js';
import { crtListLineState, withCrtListLine, type CrtListLine } from './crt-list-file.js';

/**
 * hotcert's crt-list file on disk. The text is cached and re-read when the file changes under it (an operator's
 * edit); edits are applied in memory and written by one atomic rewrite per batch (group commit), so adding ten
 * thousand lineages does not rewrite a ten-thousand-line file ten thousand times.
 */
export class CrtListStore {
  private cached: { text: string; signature: string } | undefined;
  private pending: string | undefined;
  /** The text a write is putting on disk right now: edits made meanwhile must build on it, not on the old file. */
  private writing: string | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly mode = 0o644,
  ) {}

  async lineState(line: CrtListLine): Promise<'present' | 'absent' | 'differs'> {
    return crtListLineState(await this.text(), line);
  }

  /** Puts the line into the file's text in memory; `flush()` writes it. False when it was there already. */
  async stageLine(line: CrtListLine): Promise<boolean> {
    // Read and edit with no await in between: concurrent deploys must not overwrite each other's edits.
    await this.text();
    const current = this.currentText();
    if (crtListLineState(current, line) === 'present') return false;
    this.pending = withCrtListLine(current, line);
    return true;
  }

  /** Takes a line back out (a runtime add that failed), restoring the text without it. */
  async removeLine(path: string): Promise<void> {
    await this.text();
    const current = this.currentText();
    const kept = current.split('\n').filter((line) => line.trim().split(/\s+/)[0] !== path || line.trim().startsWith('#'));
    this.pending = kept.join('\n');
    await this.flush();
  }

  /** Writes whatever is pending; callers that edit while a write runs are covered by the next write. */
  async flush(): Promise<void> {
    while (this.pending !== undefined || this.flushing !== undefined) {
      if (this.flushing !== undefined) {
        await this.flushing;
        continue;
      }
      this.flushing = this.writePending();
      try {
        await this.flushing;
      } finally {
        this.flushing = undefined;
      }
    }
  }

  private async writePending(): Promise<void> {
    // Let edits made in the same turn of the event loop join this write.
    await new Promise((resolve) => setImmediate(resolve));
    const text = this.pending;
    if (text === undefined) return;
    this.pending = undefined;
    this.writing = text;
    try {
      await writeFileAtomic(this.path, text, { mode: this.mode });
      this.cached = { text, signature: await this.signature() };
    } finally {
      this.writing = undefined;
    }
  }

  private currentText(): string {
    return this.pending ?? this.writing ?? this.cached?.text ?? '';
  }

  private async text(): Promise<string> {
    if (this.pending !== undefined || this.writing !== undefined) return this.currentText();
    const signature = await this.signature();
    if (this.cached?.signature === signature) return this.cached.text;
    const text = (await readFileIfExists(this.path)) ?? '';
    this.cached = { text, signature };
    return text;
  }

  private async signature(): Promise<string> {
    try {
      const info = await stat(this.path);
      return `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw error;
    }
  }
}
