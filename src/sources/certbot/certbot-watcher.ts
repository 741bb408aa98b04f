import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { HealingWatch } from '../healing-watch.js';
import type { SourceWatchHandlers, SourceWatcher, WatchState } from '../source.js';

export interface CertbotWatchSettings {
  readonly letsencryptDir: string;
  readonly pollMs: number;
  readonly retryMs: readonly [number, number];
}

/**
 * Follows Certbot's config dir with three inotify watches whatever the number of lineages: the root, `live/` and
 * `renewal/`, never a lineage directory. Certbot's own sequence gives every change away there (DESIGN.md §2): a
 * first issuance adds `renewal/<name>.conf` and `live/<name>`, a renewal replaces `renewal/<name>.conf` a few ms
 * before it flips the links, a delete removes both; every run creates `.certbot.lock` at the root and removes it at
 * its end, when every lineage touched during the run is looked at again (a lineage read between the conf's
 * replacement and the links' flip looks unchanged).
 */
export class CertbotWatcher implements SourceWatcher {
  private readonly watch: HealingWatch;
  private readonly live: string;
  private readonly renewal: string;
  private readonly lock: string;
  private readonly touched = new Set<string>();
  /** The last look at every lineage, while polling; undefined until the first poll takes it as the baseline. */
  private signatures: Map<string, string> | undefined;

  constructor(
    private readonly settings: CertbotWatchSettings,
    private readonly handlers: SourceWatchHandlers,
  ) {
    const root = settings.letsencryptDir;
    this.live = join(root, 'live');
    this.renewal = join(root, 'renewal');
    this.lock = join(root, '.certbot.lock');
    this.watch = new HealingWatch(
      {
        directories: () => [root, this.live, this.renewal].filter((dir) => existsSync(dir)),
        onEntry: (dir, entry) => this.onEntry(dir, entry),
        poll: () => this.poll(),
        pollMs: settings.pollMs,
        retryMs: settings.retryMs,
      },
      handlers,
    );
  }

  get state(): WatchState {
    return this.watch.state;
  }

  async start(): Promise<void> {
    this.watch.start();
  }

  async stop(): Promise<void> {
    this.watch.stop();
  }

  private onEntry(dir: string, entry: string): void {
    if (dir === this.settings.letsencryptDir) {
      if (entry === '.certbot.lock' && !existsSync(this.lock)) {
        for (const name of this.touched) this.handlers.onChange(name);
        this.touched.clear();
      } else if ((entry === 'live' || entry === 'renewal') && existsSync(join(dir, entry))) {
        // Created after hotcert started (a first `certbot certonly` on a fresh host): watch it, look at everything.
        this.watch.rearm();
        this.handlers.onRescan(`${join(dir, entry)} appeared`);
      }
      return;
    }
    const name = dir === this.renewal ? (entry.endsWith('.conf') ? basename(entry, '.conf') : undefined) : entry === 'README' ? undefined : entry;
    if (name === undefined) return;
    this.touched.add(name);
    this.handlers.onChange(name);
  }

  /** While polling: every lineage whose directory or live links changed since the last look. */
  private poll(): void {
    const now = this.lookAtLineages();
    const before = this.signatures;
    this.signatures = now;
    if (!before) return;
    for (const [name, signature] of now) if (before.get(name) !== signature) this.handlers.onChange(name);
    for (const name of before.keys()) if (!now.has(name)) this.handlers.onChange(name);
  }

  // Two readlinks a lineage: cert.pem is flipped first and fullchain.pem last, so a renewal changes both.
  private lookAtLineages(): Map<string, string> {
    const signatures = new Map<string, string>();
    let entries: string[];
    try {
      entries = readdirSync(this.live);
    } catch {
      return signatures;
    }
    for (const name of entries) {
      if (name === 'README') continue;
      const dir = join(this.live, name);
      const link = (file: string): string => {
        try {
          return readlinkSync(join(dir, file));
        } catch {
          return '-';
        }
      };
      let kind = '?';
      try {
        kind = lstatSync(dir).isSymbolicLink() ? 'link' : 'dir';
      } catch {
        // Gone meanwhile: the next look sees it missing.
      }
      signatures.set(name, `${kind}:${link('cert.pem')}:${link('fullchain.pem')}`);
    }
    return signatures;
  }
}
