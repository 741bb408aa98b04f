/** The four files Certbot keeps per lineage, in the order `storage.py` flips their links (ALL_FOUR). */
export const LINEAGE_FILES = ['cert', 'privkey', 'chain', 'fullchain'] as const;
export type LineageFile = (typeof LINEAGE_FILES)[number];

/** A lineage read at one moment: what its links pointed at and what the files held. Produced by the reader. */
export interface RawLineage {
  readonly name: string;
  readonly liveDir: string;
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
  | { readonly state: 'unreadable'; readonly linkTarget: string; readonly code: string }
  | { readonly state: 'read'; readonly linkTarget: string; readonly resolved: string; readonly content: string };

/** A lineage that is consistent on disk and safe to deploy. */
export interface LineageSnapshot {
  readonly name: string;
  /** The archive version N all four links point at (`cert3.pem` → 3). */
  readonly version: number;
  /** Leaf then chain, as Certbot's fullchain.pem holds it. */
  readonly fullchainPem: string;
  readonly keyPem: string;
  /** Upper-case hex without separators, as HAProxy's `show ssl cert` prints it. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Upper-case hex SHA-1 of the leaf, as HAProxy's `SHA1 FingerPrint:` prints it. */
  readonly sha1Fingerprint: string;
  readonly dnsNames: readonly string[];
}

/** What the assessment of a lineage found. */
export type LineageAssessment =
  | { readonly kind: 'ready'; readonly snapshot: LineageSnapshot }
  /** Certbot is (probably) in the middle of writing it: look again shortly; not an error. */
  | { readonly kind: 'not-ready'; readonly reason: string }
  /** It is broken in a way waiting will not fix: an operator must look. */
  | { readonly kind: 'invalid'; readonly reason: string; readonly file?: string };
