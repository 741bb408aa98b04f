import type { CertIdentity } from '../core/cert-identity.js';
import type { SourceFacts } from '../core/facts.js';

/** A name a source has but hotcert will not deploy, and why (a name unsafe in a runtime command, a symlink...). */
export interface RefusedName {
  readonly name: string;
  readonly reason: string;
}

export interface SourceListing {
  /** Names hotcert can deploy, sorted. */
  readonly names: readonly string[];
  readonly refused: readonly RefusedName[];
  /** Set when the source's directory does not exist yet: nothing to deploy, and worth a warning. */
  readonly missing?: string;
}

/** What a certificate's bundle would be, read as cheaply as possible: nothing parsed, only good for "unchanged". */
export interface QuickLook {
  readonly bundle: string;
  /** The leaf's SHA-1 and the chain's names, as HAProxy reports them, for comparison with what it serves. */
  readonly identity: CertIdentity;
}

/** How a source's watcher is doing: its inotify watches, or polling because the kernel refused them. */
export type WatchState =
  | { readonly kind: 'starting' }
  | { readonly kind: 'watching'; readonly watches: number }
  | { readonly kind: 'polling'; readonly reason: string; readonly pollMs: number }
  | { readonly kind: 'stopped' };

export interface SourceWatchHandlers {
  /** A hint that `name` may have changed, appeared or gone: the job reads the source when it runs. */
  onChange(name: string): void;
  /** Everything must be looked at (a directory appeared, watches came back after polling). */
  onRescan(reason: string): void;
  onWatchState(state: WatchState): void;
}

export interface SourceWatcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly state: WatchState;
}

/**
 * Where certificates come from: Certbot's live directory, Kubernetes Secret volumes. The engine, the daemon and
 * status know sources only through this port; a new kind of source is one folder and one line in the composition
 * root.
 */
export interface CertificateSource {
  /** `certbot`, `kubernetes`: in logs (`source=`) and messages. */
  readonly kind: string;
  /** Where it reads, for messages: "Certbot's live directory /etc/letsencrypt/live". */
  readonly location: string;
  list(): Promise<SourceListing>;
  /** A consistent snapshot of one certificate, gated (key, chain, dates). Never throws for a bad certificate. */
  read(name: string, now: Date): Promise<SourceFacts>;
  /** The no-op path's cheap look; undefined whenever the certificate is not plainly at rest. */
  quickLook(name: string): QuickLook | undefined;
  watcher(handlers: SourceWatchHandlers): SourceWatcher;
  close(): Promise<void>;
}
