import { join } from 'node:path';
import { bundleDigest } from '../core/bundle.js';
import type { GatedCertificate } from '../core/certificate-gate.js';
import type { ChainCertificateCache } from '../core/chain-certificate-cache.js';
import { summarizeBundle, summaryOf } from '../core/certificate-summary.js';
import type { CertificateSummary, FileFacts } from '../core/facts.js';
import { DirectorySync, removeFileDurably, writeSmallFileAtomic, type FileOwnership } from '../platform/files/atomic-file.js';
import { describeFailedRead, readRegularFile } from '../platform/files/read-regular-file.js';
import { FileWriteError } from '../errors.js';
import type { CrtListLine } from './crt-list-file.js';
import type { CrtListStore } from './crt-list-store.js';

/**
 * hotcert's own files, shared by every target that reads them: the bundles (`<dir>/<name>.pem`, written atomically
 * with the configured mode and owner) and the crt-list file. What a restart of HAProxy loads.
 */
export class HotcertFiles {
  private readonly directorySync = new DirectorySync();

  constructor(
    readonly bundlesDir: string,
    private readonly ownership: FileOwnership,
    readonly crtList: CrtListStore,
    private readonly chainCache: ChainCertificateCache,
  ) {}

  bundlePath(name: string): string {
    return join(this.bundlesDir, `${name}.pem`);
  }

  /** The bundle file's text; undefined when there is none. @throws FileWriteError when it cannot be read. */
  readBundle(name: string): string | undefined {
    const read = readRegularFile(this.bundlePath(name));
    if (read.kind === 'read') return read.content;
    if (read.kind === 'missing') return undefined;
    throw new FileWriteError(`hotcert's bundle ${this.bundlePath(name)} ${describeFailedRead(read)}`, { file: this.bundlePath(name) });
  }

  /**
   * The facts of the files for one name. What is known already spares parsing the file: `wanted` (the source's
   * certificate) when the file holds its bundle, `served` (what HAProxy reports) when it holds that leaf.
   */
  async facts(name: string, line: CrtListLine, known: { readonly wanted?: GatedCertificate | undefined; readonly served?: CertificateSummary | undefined } = {}): Promise<FileFacts> {
    const text = this.readBundle(name);
    const digest = text === undefined ? undefined : bundleDigest(text);
    const wanted = known.wanted;
    const bundle =
      text === undefined || digest === undefined
        ? undefined
        : { digest, certificate: wanted && wanted.bundleDigest === digest ? summaryOf(wanted) : summarizeBundle(text, this.chainCache, known.served) };
    return { bundle, crtListLine: await this.crtList.lineState(line) };
  }

  /** Replaces the bundle file; returns what it held before (undefined: there was none). */
  async writeBundle(name: string, bundle: string): Promise<string | undefined> {
    const previous = this.readBundle(name);
    await writeSmallFileAtomic(this.bundlePath(name), bundle, { ...this.ownership, directorySync: this.directorySync });
    return previous;
  }

  /** Puts back what a write replaced: the previous bundle, or no file at all. */
  async restoreBundle(name: string, previous: string | undefined): Promise<void> {
    if (previous === undefined) await removeFileDurably(this.bundlePath(name), this.directorySync);
    else await writeSmallFileAtomic(this.bundlePath(name), previous, { ...this.ownership, directorySync: this.directorySync });
  }

  removeBundle(name: string): Promise<void> {
    return removeFileDurably(this.bundlePath(name), this.directorySync);
  }
}
