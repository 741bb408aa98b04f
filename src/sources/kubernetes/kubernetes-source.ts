import { join } from 'node:path';
import { bundleFromBlocks } from '../../core/bundle.js';
import { identityOfBlocks } from '../../core/cert-identity.js';
import type { GatePolicy } from '../../core/certificate-gate.js';
import { ChainCertificateCache } from '../../core/chain-certificate-cache.js';
import { certificateNameProblem } from '../../core/certificate-name.js';
import type { SourceFacts } from '../../core/facts.js';
import { pemBlocks } from '../../core/pem.js';
import { SecretInvalidError } from '../../errors.js';
import { readRegularFile } from '../../platform/files/read-regular-file.js';
import { HealingWatch } from '../healing-watch.js';
import type { CertificateSource, QuickLook, RefusedName, SourceListing, SourceWatchHandlers, SourceWatcher, WatchState } from '../source.js';
import { readSecret, secretContentDigest } from './read-secret.js';
import { currentPayload, isKubeletEntry, secretLocations, type SecretLocation } from './secret-volumes.js';

export interface KubernetesSourceSettings {
  readonly secretDirs: readonly string[];
  readonly policy: GatePolicy;
  readonly pollMs: number;
  readonly watchRetryMs: readonly [number, number];
}

/**
 * Kubernetes TLS Secrets mounted into the pod (cert-manager's `kubernetes.io/tls`), as volumes of their own or in a
 * projected volume: one certificate a Secret, named after its directory.
 */
export class KubernetesSource implements CertificateSource {
  readonly kind = 'kubernetes';
  readonly location: string;
  private readonly chainCache = new ChainCertificateCache();
  private locations = new Map<string, SecretLocation>();
  private refused = new Map<string, string>();

  constructor(private readonly settings: KubernetesSourceSettings) {
    this.location = `Kubernetes Secrets in ${settings.secretDirs.join(', ')}`;
  }

  async list(): Promise<SourceListing> {
    const found = new Map<string, SecretLocation>();
    const refused: RefusedName[] = [];
    for (const secretDir of this.settings.secretDirs) {
      for (const location of secretLocations(secretDir)) {
        const problem = certificateNameProblem(location.name);
        const other = found.get(location.name);
        if (problem) refused.push({ name: location.name, reason: problem });
        else if (other) refused.push({ name: location.name, reason: `the Secret is in both ${other.secretDir} and ${secretDir}` });
        else found.set(location.name, location);
      }
    }
    for (const entry of refused) found.delete(entry.name);
    this.locations = found;
    this.refused = new Map(refused.map((entry) => [entry.name, entry.reason]));
    const missing = this.settings.secretDirs.every((dir) => secretLocations(dir).length === 0) ? `no Secret is mounted in ${this.settings.secretDirs.join(', ')} yet` : undefined;
    return { names: [...found.keys()].sort(), refused, ...(missing ? { missing } : {}) };
  }

  async read(name: string, now: Date): Promise<SourceFacts> {
    const location = await this.locate(name);
    const refused = this.refused.get(name);
    if (refused) return { kind: 'invalid', error: new SecretInvalidError(`Secret "${name}": ${refused}`, { lineage: name }) };
    if (!location) return { kind: 'absent' };
    return readSecret(location, now, this.settings.policy, this.chainCache);
  }

  quickLook(name: string): QuickLook | undefined {
    const location = this.locations.get(name);
    const payload = location && currentPayload(location.volumeDir);
    if (!location || !payload) return undefined;
    const dir = join(payload, location.itemPath);
    const crt = readRegularFile(join(dir, 'tls.crt'));
    const key = readRegularFile(join(dir, 'tls.key'));
    if (crt.kind !== 'read' || key.kind !== 'read') return undefined;
    const blocks = pemBlocks(crt.content).filter((block) => block.type === 'CERTIFICATE');
    const keyBlock = pemBlocks(key.content).find((block) => block.type.endsWith('PRIVATE KEY'));
    const identity = identityOfBlocks(blocks, this.chainCache);
    if (!identity || !keyBlock) return undefined;
    return { bundle: bundleFromBlocks(blocks.map((block) => block.text), keyBlock.text), identity };
  }

  watcher(handlers: SourceWatchHandlers): SourceWatcher {
    return new SecretVolumeWatcher(this.settings, handlers);
  }

  async close(): Promise<void> {
    return undefined;
  }

  private async locate(name: string): Promise<SecretLocation | undefined> {
    if (!this.locations.has(name)) await this.list();
    return this.locations.get(name);
  }
}

/**
 * kubelet changes a Secret by one rename, `..data_tmp` over `..data`, in the volume's directory: watched there (each
 * Secret volume, or the projected volume) and in every configured directory for Secrets mounted later.
 */
class SecretVolumeWatcher implements SourceWatcher {
  private readonly watch: HealingWatch;
  private signatures: Map<string, string> | undefined;
  /** Per Secret of a projected volume, the digest of its files as last seen (see onEntry). */
  private readonly contents = new Map<string, string>();

  constructor(
    private readonly settings: KubernetesSourceSettings,
    private readonly handlers: SourceWatchHandlers,
  ) {
    this.watch = new HealingWatch(
      {
        directories: () => [...new Set(settings.secretDirs.flatMap((dir) => [dir, ...secretLocations(dir).map((location) => location.volumeDir)]))],
        onEntry: (dir, entry) => this.onEntry(dir, entry),
        poll: () => this.poll(),
        pollMs: settings.pollMs,
        retryMs: settings.watchRetryMs,
      },
      handlers,
    );
  }

  get state(): WatchState {
    return this.watch.state;
  }

  async start(): Promise<void> {
    for (const location of this.settings.secretDirs.flatMap((dir) => secretLocations(dir))) {
      if (location.shape === 'projected') this.contents.set(location.name, secretContentDigest(location));
    }
    this.watch.start();
  }

  async stop(): Promise<void> {
    this.watch.stop();
  }

  private onEntry(dir: string, entry: string): void {
    if (entry === '..data') {
      // A volume of its own names one Secret. A projected volume's swap writes every one of its Secrets again
      // (kubelet's AtomicWriter writes the whole payload into a new directory), whichever changed: only those whose
      // files differ from the last swap go to the engine, not a thousand no-op deploys in front of the one that
      // matters. The start's full sync and the periodic rescan look at all of them anyway.
      for (const location of this.locationsIn(dir)) {
        if (location.shape === 'projected') {
          const digest = secretContentDigest(location);
          if (this.contents.get(location.name) === digest) continue;
          this.contents.set(location.name, digest);
        }
        this.handlers.onChange(location.name);
      }
      return;
    }
    if (isKubeletEntry(entry)) return;
    if (this.settings.secretDirs.includes(dir)) {
      // A Secret mounted or unmounted (a volume of its own), or an item added to or dropped from a projected volume.
      this.watch.rearm();
      this.handlers.onChange(entry);
    }
  }

  private locationsIn(volumeDir: string): SecretLocation[] {
    return this.settings.secretDirs.flatMap((dir) => secretLocations(dir)).filter((location) => location.volumeDir === volumeDir);
  }

  private poll(): void {
    const now = new Map<string, string>();
    for (const dir of this.settings.secretDirs) {
      for (const location of secretLocations(dir)) now.set(location.name, `${location.volumeDir}:${currentPayload(location.volumeDir) ?? '-'}`);
    }
    const before = this.signatures;
    this.signatures = now;
    if (!before) return;
    for (const [name, signature] of now) if (before.get(name) !== signature) this.handlers.onChange(name);
    for (const name of before.keys()) if (!now.has(name)) this.handlers.onChange(name);
  }
}
