import type { SourceFacts } from '../core/facts.js';
import { SourceNameRefusedError } from '../errors.js';
import type { CertificateSource, QuickLook, RefusedName, SourceListing, SourceWatchHandlers, SourceWatcher, WatchState } from './source.js';

/**
 * Several sources as one (Certbot's live directory beside Kubernetes Secrets). A name two sources define is refused,
 * with a message naming both: which certificate to serve for it is the operator's decision, not hotcert's.
 */
export class CombinedSource implements CertificateSource {
  readonly kind: string;
  readonly location: string;
  private owners = new Map<string, CertificateSource>();
  private refused = new Map<string, string>();

  constructor(private readonly sources: readonly CertificateSource[]) {
    this.kind = sources.map((source) => source.kind).join('+');
    this.location = sources.map((source) => source.location).join(' and ');
  }

  async list(): Promise<SourceListing> {
    const listings = await Promise.all(this.sources.map(async (source) => ({ source, listing: await source.list() })));
    const owners = new Map<string, CertificateSource>();
    const refused: RefusedName[] = listings.flatMap(({ listing }) => [...listing.refused]);
    const twice = new Set<string>();
    for (const { source, listing } of listings) {
      for (const name of listing.names) {
        const other = owners.get(name);
        if (other) {
          twice.add(name);
          refused.push({ name, reason: `both ${other.location} and ${source.location} define it; rename one of them` });
        } else {
          owners.set(name, source);
        }
      }
    }
    for (const name of twice) owners.delete(name);
    this.owners = owners;
    this.refused = new Map(refused.map((entry) => [entry.name, entry.reason]));
    const missing = listings.map(({ listing }) => listing.missing).filter((text): text is string => text !== undefined);
    return {
      names: [...owners.keys()].sort(),
      refused,
      ...(missing.length === listings.length && missing.length > 0 ? { missing: missing.join('; ') } : {}),
    };
  }

  async read(name: string, now: Date): Promise<SourceFacts> {
    if (!this.owners.has(name)) await this.list();
    const owner = this.owners.get(name);
    if (owner) return owner.read(name, now);
    const reason = this.refused.get(name);
    return reason ? { kind: 'invalid', error: new SourceNameRefusedError(`"${name}": ${reason}`, { lineage: name }) } : { kind: 'absent' };
  }

  quickLook(name: string): QuickLook | undefined {
    return this.owners.get(name)?.quickLook(name);
  }

  watcher(handlers: SourceWatchHandlers): SourceWatcher {
    const states = new Map<number, WatchState>();
    const watchers = this.sources.map((source, index) =>
      source.watcher({
        ...handlers,
        onWatchState: (state) => {
          states.set(index, state);
          handlers.onWatchState(combined([...states.values()]));
        },
      }),
    );
    return {
      start: async () => {
        for (const watcher of watchers) await watcher.start();
      },
      stop: async () => {
        for (const watcher of watchers) await watcher.stop();
      },
      get state() {
        return combined(watchers.map((watcher) => watcher.state));
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.close()));
  }
}

// The worst of the sources' states says how the whole is followed: polling if any polls.
function combined(states: readonly WatchState[]): WatchState {
  const polling = states.find((state) => state.kind === 'polling');
  if (polling) return polling;
  if (states.some((state) => state.kind === 'starting')) return { kind: 'starting' };
  if (states.every((state) => state.kind === 'stopped')) return { kind: 'stopped' };
  return { kind: 'watching', watches: states.reduce((sum, state) => sum + (state.kind === 'watching' ? state.watches : 0), 0) };
}
