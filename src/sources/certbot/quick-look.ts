import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromPem } from '../../core/bundle.js';
import { identityOfBlocks } from '../../core/cert-identity.js';
import type { ChainCertificateCache } from '../../core/chain-certificate-cache.js';
import { pemBlocks } from '../../core/pem.js';
import { readRegularFile } from '../../platform/files/read-regular-file.js';
import type { QuickLook } from '../source.js';
import { LINEAGE_FILES } from './raw-lineage.js';

/**
 * What a lineage's bundle would be, read as cheaply as possible: links, fullchain and key only, no key parsed.
 * Only good for recognising "nothing changed" (the same bundle on disk and the same leaf and chain served); anything
 * that differs, and anything odd, goes through the full assessment before a byte is deployed. Undefined whenever the
 * lineage is not plainly at rest: links on different versions, previous_*, Certbot's lock, a file that is not a
 * regular file. Synchronous on purpose: a handful of small files in the page cache read in microseconds this way,
 * while each fs.promises call costs a thread-pool round trip, which dominated a no-op sync.
 */
export function quickLook(letsencryptDir: string, name: string, chainCache: ChainCertificateCache): QuickLook | undefined {
  const liveDir = join(letsencryptDir, 'live', name);
  try {
    // Certbot (storage.py, update_all_links_to) creates previous_cert, _privkey, _chain, _fullchain, flips the four
    // links, then removes the previous links in the same order: previous_fullchain.pem is there from before the
    // first flip until after the last. One lstat instead of reading the directory (a third of a no-op sync's time).
    if (lstatSync(join(liveDir, 'previous_fullchain.pem'), { throwIfNoEntry: false })) return undefined;
    const versions = new Set(LINEAGE_FILES.map((file) => /(\d+)\.pem$/.exec(readlinkSync(join(liveDir, `${file}.pem`)))?.[1]));
    if (versions.size !== 1 || versions.has(undefined)) return undefined;
    if (existsSync(join(letsencryptDir, '.certbot.lock'))) return undefined;
    const fullchain = readRegularFile(join(liveDir, 'fullchain.pem'));
    const privkey = readRegularFile(join(liveDir, 'privkey.pem'));
    if (fullchain.kind !== 'read' || privkey.kind !== 'read') return undefined;
    const identity = identityOfBlocks(pemBlocks(fullchain.content), chainCache);
    return identity && { bundle: bundleFromPem(fullchain.content, privkey.content), identity };
  } catch {
    // Whatever failed here (a missing link, an unreadable file) the full assessment reads again and reports.
    return undefined;
  }
}
