/** The four files Certbot keeps per lineage, in the order `storage.py` flips their links (ALL_FOUR). */
export const LINEAGE_FILES = ['cert', 'privkey', 'chain', 'fullchain'] as const;
export type LineageFile = (typeof LINEAGE_FILES)[number];

/** A lineage read at one moment: what its links pointed at and what the files held. Produced by the reader. */
export interface RawLineage {
  readonly name: string;
  /** `.certbot.lock` exists at the config dir root: Certbot is running, so a half-written state is expected. */
  readonly certbotRunning: boolean;
  /** `previous_*.pem` links exist: Certbot is between its first and last link flip (storage.update_all_links_to). */
  readonly previousLinks: readonly string[];
  readonly files: Readonly<Record<LineageFile, RawLineageFile>>;
}

export type RawLineageFile =
  | { readonly state: 'missing' }
  | { readonly state: 'not-a-link' }
  | { readonly state: 'dangling'; readonly linkTarget: string }
  | { readonly state: 'outside'; readonly linkTarget: string; readonly resolved: string }
  /** The link resolves, but not to a regular file Certbot could have written (a FIFO, too large, no permission). */
  | { readonly state: 'unreadable'; readonly linkTarget: string; readonly problem: string }
  | { readonly state: 'read'; readonly linkTarget: string; readonly resolved: string; readonly content: string };
