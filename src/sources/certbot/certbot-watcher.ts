import { existsSync } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../../observe/log/create-logger.js';
import { Field } from '../../observe/log/fields.js';
import { classifyEvent, watchedDirectories, type LineageEvent } from './lineage-events.js';

export interface CertbotWatcherHandlers {
  onLineage(name: string): void;
  onCertbotFinished(): void;
  /** live/ or renewal/ appeared after start, or the watcher lost track: everything must be looked at. */
  onRescanNeeded(reason: string): void;
  /** The watcher cannot work (the inotify limit): the daemon keeps running on its periodic rescans. */
  onFatal(error: Error): void;
}

/**
 * Watches Certbot's config dir with chokidar, without descending into lineage directories: with ten thousand
 * lineages, a watch per lineage directory cost chokidar 5 several seconds and hundreds of MB (DESIGN.md §5), while
 * live/ and renewal/ alone see every issuance, renewal and delete. Directories that do not exist yet are added
 * when the root reports them (chokidar loses events for paths that are missing when it starts).
 */
export class CertbotWatcher {
  private watcher: FSWatcher | undefined;
  private readonly followed = new Set<string>();
  private waiting: NodeJS.Timeout | undefined;

  constructor(
    private readonly letsencryptDir: string,
    private readonly handlers: CertbotWatcherHandlers,
    private readonly log: Logger,
  ) {}

  /** Starts watching; when Certbot's config dir does not exist yet, waits for it (checked every `pollMs`). */
  async start(pollMs = 5000): Promise<void> {
    if (!existsSync(this.letsencryptDir)) {
      this.log.warn('Certbot\'s config dir does not exist yet; hotcert starts watching it when it appears', { [Field.file]: this.letsencryptDir });
      this.waiting = setInterval(() => {
        if (!existsSync(this.letsencryptDir)) return;
        clearInterval(this.waiting);
        this.waiting = undefined;
        this.watchNow().then(
          () => this.handlers.onRescanNeeded(`${this.letsencryptDir} appeared`),
          (error: unknown) => this.handlers.onFatal(error as Error),
        );
      }, pollMs);
      return;
    }
    await this.watchNow();
  }

  private async watchNow(): Promise<void> {
    const [root, ...inner] = watchedDirectories(this.letsencryptDir);
    const present = inner.filter((dir) => existsSync(dir));
    this.watcher = watch([root as string, ...present], { depth: 0, ignoreInitial: true, followSymlinks: false });
    for (const dir of [root as string, ...present]) this.followed.add(dir);
    this.watcher.on('all', (event, path) => this.handle(classifyEvent(this.letsencryptDir, event, path)));
    this.watcher.on('error', (error) => this.handleError(error as NodeJS.ErrnoException));
    await new Promise<void>((resolve) => this.watcher?.once('ready', () => resolve()));
  }

  async stop(): Promise<void> {
    clearInterval(this.waiting);
    this.waiting = undefined;
    await this.watcher?.close();
    this.watcher = undefined;
  }

  private handle(event: LineageEvent): void {
    switch (event.kind) {
      case 'lineage':
        this.handlers.onLineage(event.name);
        return;
      case 'certbot-finished':
        this.handlers.onCertbotFinished();
        return;
      case 'directory-appeared':
        if (!this.followed.has(event.path)) {
          this.followed.add(event.path);
          this.watcher?.add(event.path);
        }
        this.handlers.onRescanNeeded(`${event.path} appeared`);
        return;
      case 'ignored':
        return;
    }
  }

  private handleError(error: NodeJS.ErrnoException): void {
    if (error.code === 'ENOSPC' || error.code === 'EMFILE') {
      this.handlers.onFatal(
        new Error(
          `cannot watch ${this.letsencryptDir}: the inotify limit is reached (${error.code}); raise it, e.g. "sysctl fs.inotify.max_user_watches=524288" and "sysctl fs.inotify.max_user_instances=512" (persist in /etc/sysctl.d/); until then changes are found by the periodic rescan only`,
          { cause: error },
        ),
      );
      return;
    }
    this.log.warn('file watcher error; a rescan follows', { [Field.error]: error });
    this.handlers.onRescanNeeded(`watcher error ${error.code ?? error.message}`);
  }
}
