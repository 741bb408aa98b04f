import { basename, relative, sep } from 'node:path';
import { isSafeLineageName } from '../../core/certificate-name.js';

/**
 * What a file system event under Certbot's config dir means to hotcert. Events are hints only: the job re-reads the
 * lineage when it runs. Certbot's own traces (DESIGN.md §2): a first issuance adds `renewal/<name>.conf` and
 * `live/<name>`; a renewal replaces `renewal/<name>.conf` a few ms before it flips the links; a delete removes both;
 * every run creates and removes `.certbot.lock` at the root.
 */
export type LineageEvent =
  | { readonly kind: 'lineage'; readonly name: string }
  /** Certbot finished a run (its lock is gone): lineages it touched are looked at again. */
  | { readonly kind: 'certbot-finished' }
  /** live/ or renewal/ appeared: watch them and look at everything. */
  | { readonly kind: 'directory-appeared'; readonly path: string }
  | { readonly kind: 'ignored' };

export function classifyEvent(letsencryptDir: string, event: string, path: string): LineageEvent {
  const parts = relative(letsencryptDir, path).split(sep);
  if (parts.length === 1) {
    if (parts[0] === '.certbot.lock' && event === 'unlink') return { kind: 'certbot-finished' };
    if ((parts[0] === 'live' || parts[0] === 'renewal') && event === 'addDir') return { kind: 'directory-appeared', path };
    return { kind: 'ignored' };
  }
  if (parts.length !== 2) return { kind: 'ignored' };
  const [dir, entry] = parts as [string, string];
  if (dir === 'live' && (event === 'addDir' || event === 'unlinkDir') && isSafeLineageName(entry)) return { kind: 'lineage', name: entry };
  if (dir === 'renewal' && entry.endsWith('.conf') && (event === 'add' || event === 'change' || event === 'unlink')) {
    const name = basename(entry, '.conf');
    return isSafeLineageName(name) ? { kind: 'lineage', name } : { kind: 'ignored' };
  }
  return { kind: 'ignored' };
}

/** The directories the watcher follows, without descending: the root, live/ and renewal/. */
export function watchedDirectories(letsencryptDir: string): string[] {
  return [letsencryptDir, `${letsencryptDir}${sep}live`, `${letsencryptDir}${sep}renewal`];
}

