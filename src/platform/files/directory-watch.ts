import { watch, type FSWatcher } from 'node:fs';
import { WatchLimitError } from '../../errors.js';

export interface DirectoryWatchHandlers {
  /** Something happened to `entry` in `dir`: created, removed, renamed or changed (inotify does not say which). */
  onEntry(dir: string, entry: string): void;
  /** The watch on `dir` broke (the directory was removed, or the kernel dropped it). */
  onLost(dir: string, error: Error): void;
}

/**
 * One inotify watch per directory, on the directory itself, never on its subdirectories (fs.watch without
 * `recursive`): ten thousand lineage directories under Certbot's live/ cost no watch at all. chokidar 5 places a
 * watch on every child directory even at `depth: 0` (103 watches for 100 lineages, measured), and gives up per path
 * when the kernel's limit is reached; here the limit is one typed error the caller can act on.
 */
export class DirectoryWatch {
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(private readonly handlers: DirectoryWatchHandlers) {}

  /** @throws WatchLimitError at fs.inotify.max_user_watches / max_user_instances; the Node error otherwise (ENOENT). */
  add(dir: string): void {
    if (this.watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, entry) => {
        if (entry !== null) this.handlers.onEntry(dir, entry.toString());
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE') throw new WatchLimitError(dir, code, { cause: error });
      throw error;
    }
    watcher.on('error', (error) => {
      this.watchers.delete(dir);
      watcher.close();
      this.handlers.onLost(dir, error);
    });
    this.watchers.set(dir, watcher);
  }

  has(dir: string): boolean {
    return this.watchers.has(dir);
  }

  /** Watches held now (one inotify watch each). */
  get count(): number {
    return this.watchers.size;
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
