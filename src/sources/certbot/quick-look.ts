import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromPem } from '../../core/bundle.js';
import { LINEAGE_FILES } from './lineage-snapshot.js';
import { pemBlocks } from '../../core/pem.js';

/**
 * What a lineage's bundle would be, read as cheaply as possible: links, fullchain and key only, nothing parsed.
 * Only good for recognising "nothing changed" (the same bundle on disk and the same leaf served); anything that
 * differs, and anything odd, goes through the full assessment before a byte is deployed.
 */
export interface QuickLook {
  readonly bundle: string;
  /** Upper-case hex SHA-1 of the leaf's DER, as HAProxy prints `SHA1 FingerPrint:`. */
  readonly leafSha1: string;
}

/**
 * Undefined whenever the lineage is not plainly at rest: links on different versions, previous_*, Certbot's lock.
 * Synchronous on purpose: a handful of small files in the page cache read in microseconds this way, while each
 * fs.promises call costs a thread-pool round trip (open, fstat, read, close), which dominated a no-op sync.
 */
export function quickLook(letsencryptDir: string, name: string): QuickLook | undefined {
  const liveDir = join(letsencryptDir, 'live', name);
  try {
    if (readdirSync(liveDir).some((entry) => entry.startsWith('previous_'))) return undefined;
    const versions = new Set(LINEAGE_FILES.map((file) => /(\d+)\.pem$/.exec(readlinkSync(join(liveDir, `${file}.pem`)))?.[1]));
    if (versions.size !== 1 || versions.has(undefined)) return undefined;
    if (existsSync(join(letsencryptDir, '.certbot.lock'))) return undefined;
    const fullchain = readFileSync(join(liveDir, 'fullchain.pem'), 'utf8');
    const privkey = readFileSync(join(liveDir, 'privkey.pem'), 'utf8');
    const leaf = pemBlocks(fullchain)[0];
    if (leaf?.type !== 'CERTIFICATE') return undefined;
    const der = Buffer.from(leaf.text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    return { bundle: bundleFromPem(fullchain, privkey), leafSha1: createHash('sha1').update(der).digest('hex').toUpperCase() };
  } catch {
    // Whatever failed here (a missing link, an unreadable file) the full assessment reads again and reports.
    return undefined;
  }
}
