import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GatePolicy } from '../../core/certificate-gate.js';
import { ChainCertificateCache } from '../../core/chain-certificate-cache.js';
import { certificateNameProblem } from '../../core/certificate-name.js';
import type { SourceFacts } from '../../core/facts.js';
import { LineageInvalidError } from '../../errors.js';
import type { CertificateSource, QuickLook, RefusedName, SourceListing, SourceWatchHandlers, SourceWatcher } from '../source.js';
import { CertbotWatcher } from './certbot-watcher.js';
import { workerAssessor, type LineageAssessor } from './lineage-assessor.js';
import { quickLook } from './quick-look.js';
import { resolveLetsencryptDir } from './read-lineage.js';

export interface CertbotSourceSettings {
  readonly letsencryptDir: string;
  readonly policy: GatePolicy;
  /** While the kernel refuses file watches: how often the lineages are looked at, and how the watches are retried. */
  readonly pollMs: number;
  readonly watchRetryMs: readonly [number, number];
}

// Certbot makes every live/<name> a directory of its own (storage.py new_lineage). A link there was put by hand and
// may lead anywhere: it is refused with a message, never followed.
const LINK_REFUSED = 'live/<name> is a symbolic link: Certbot makes lineage directories, never links, and hotcert does not follow one (move the lineage itself there)';

/** Certbot's live directory as a source: one lineage a certificate, named as Certbot names it. */
export class CertbotSource implements CertificateSource {
  readonly kind = 'certbot';
  readonly location: string;
  private readonly liveDir: string;
  private readonly assessor: LineageAssessor;
  private readonly chainCache = new ChainCertificateCache();

  constructor(private readonly settings: CertbotSourceSettings) {
    this.liveDir = join(settings.letsencryptDir, 'live');
    this.location = `Certbot's live directory ${this.liveDir}`;
    this.assessor = workerAssessor({
      letsencryptDir: settings.letsencryptDir,
      letsencryptRealDir: resolveLetsencryptDir(settings.letsencryptDir),
      policy: settings.policy,
    });
  }

  async list(): Promise<SourceListing> {
    let entries;
    try {
      entries = await readdir(this.liveDir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { names: [], refused: [], missing: `${this.liveDir} does not exist yet: Certbot has issued nothing here` };
      throw error;
    }
    const names: string[] = [];
    const refused: RefusedName[] = [];
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
      const problem = certificateNameProblem(entry.name) ?? (entry.isSymbolicLink() ? LINK_REFUSED.replace('<name>', entry.name) : undefined);
      if (problem) refused.push({ name: entry.name, reason: problem });
      else names.push(entry.name);
    }
    return { names, refused };
  }

  async read(name: string, now: Date): Promise<SourceFacts> {
    const problem = certificateNameProblem(name);
    if (problem) return { kind: 'invalid', error: new LineageInvalidError(`lineage "${name}": ${problem}`, { lineage: name }) };
    let isLink: boolean;
    try {
      isLink = lstatSync(join(this.liveDir, name)).isSymbolicLink();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
      throw error;
    }
    if (isLink) return { kind: 'invalid', error: new LineageInvalidError(`lineage ${name}: ${LINK_REFUSED.replace('<name>', name)}`, { lineage: name, file: `live/${name}` }) };
    const verdict = await this.assessor.assess(name, now);
    switch (verdict.kind) {
      case 'ready':
        return { kind: 'ready', certificate: verdict.certificate };
      case 'not-ready':
        return { kind: 'not-ready', reason: verdict.reason };
      case 'invalid':
        return { kind: 'invalid', error: new LineageInvalidError(`lineage ${name}: ${verdict.reason}`, { lineage: name, file: verdict.file }) };
    }
  }

  quickLook(name: string): QuickLook | undefined {
    return quickLook(this.settings.letsencryptDir, name, this.chainCache);
  }

  watcher(handlers: SourceWatchHandlers): SourceWatcher {
    return new CertbotWatcher({ letsencryptDir: this.settings.letsencryptDir, pollMs: this.settings.pollMs, retryMs: this.settings.watchRetryMs }, handlers);
  }

  close(): Promise<void> {
    return this.assessor.close();
  }
}
