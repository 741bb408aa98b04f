import { gateCertificate, type GatePolicy, type GatedCertificate } from '../../core/certificate-gate.js';
import type { ChainCertificateCache } from '../../core/chain-certificate-cache.js';
import { pemBlocks } from '../../core/pem.js';
import { LINEAGE_FILES, type LineageFile, type RawLineage, type RawLineageFile } from './raw-lineage.js';

const ARCHIVE_NAME = /^(cert|privkey|chain|fullchain)(\d+)\.pem$/;

/** What a lineage read from disk is: a gated certificate, not ready yet, or broken (with the file to look at). */
export type LineageVerdict =
  | { readonly kind: 'ready'; readonly certificate: GatedCertificate; readonly version: number }
  | { readonly kind: 'not-ready'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly reason: string; readonly file: string };

/**
 * Decides whether a lineage read from disk is a consistent snapshot (certbot `storage.py`), then passes it through
 * the certificate gate:
 * - Certbot flips the four live links one at a time (unlink, then symlink, in the order cert, privkey, chain,
 *   fullchain), with `previous_*.pem` links present from before the first flip until after the last: a link may be
 *   missing, or point at version N while the next still points at N-1. That is `not-ready`, never an error.
 * - On first issuance the links are created dangling and the files written through them afterwards, so a file can
 *   be missing or empty for a moment; while `.certbot.lock` exists, anything broken is `not-ready` too.
 * - Certbot never fsyncs, so after a crash a file can stay empty or cut short: without the lock that is `invalid`.
 * Pure: no I/O; `now` is the only clock.
 */
export function assessLineage(raw: RawLineage, now: Date, policy: GatePolicy, chainCache?: ChainCertificateCache): LineageVerdict {
  const where = (file: LineageFile): string => `live/${raw.name}/${file}.pem`;
  if (raw.previousLinks.length > 0) {
    return notReady(`Certbot is switching its links (${raw.previousLinks.join(', ')} present)`);
  }

  const contents = {} as Record<LineageFile, string>;
  const versions = {} as Record<LineageFile, number>;
  for (const file of LINEAGE_FILES) {
    const entry: RawLineageFile = raw.files[file];
    switch (entry.state) {
      case 'missing':
        return notReady(`${where(file)} is missing (Certbot replaces the links one at a time)`);
      case 'not-a-link':
        return invalid(`${where(file)} is not a symbolic link (Certbot's live files are links into archive/)`, where(file));
      case 'dangling':
        return notReady(`${where(file)} points at ${entry.linkTarget}, which does not exist yet`);
      case 'outside':
        return invalid(`${where(file)} resolves to ${entry.resolved}, outside the letsencrypt directory`, where(file));
      case 'unreadable':
        return invalid(`${where(file)} ${entry.problem}`, where(file));
      case 'read': {
        const match = ARCHIVE_NAME.exec(entry.linkTarget.split('/').pop() ?? '');
        if (!match || match[1] !== file) {
          return invalid(`${where(file)} points at ${entry.linkTarget}, not at an archive ${file}N.pem`, where(file));
        }
        versions[file] = Number(match[2]);
        contents[file] = entry.content;
      }
    }
  }

  const distinct = new Set(Object.values(versions));
  if (distinct.size > 1) {
    const list = LINEAGE_FILES.map((file) => `${file} ${versions[file]}`).join(', ');
    return notReady(`links point at different versions (${list}): Certbot is switching them`);
  }

  // From here on the links agree. What is still wrong is either being written right now (Certbot holds its lock)
  // or broken for good.
  const broken = (reason: string, file: LineageFile): LineageVerdict =>
    raw.certbotRunning ? notReady(`${reason} while Certbot is running`) : invalid(reason, where(file));

  for (const file of LINEAGE_FILES) {
    if (contents[file].trim() === '') return broken(`${where(file)} is empty`, file);
  }
  const certBlocks = pemBlocks(contents.cert);
  if (certBlocks.length !== 1 || certBlocks[0]?.type !== 'CERTIFICATE') {
    return broken(`${where('cert')} does not hold exactly one PEM certificate`, 'cert');
  }
  const keyBlocks = pemBlocks(contents.privkey).filter((block) => block.type.endsWith('PRIVATE KEY'));
  if (keyBlocks.length !== 1) return broken(`${where('privkey')} does not hold exactly one PEM private key`, 'privkey');
  const fullchainBlocks = pemBlocks(contents.fullchain);
  if (fullchainBlocks.length < 1 || fullchainBlocks.some((block) => block.type !== 'CERTIFICATE')) {
    return broken(`${where('fullchain')} does not hold PEM certificates only`, 'fullchain');
  }
  if (fullchainBlocks[0]?.text !== certBlocks[0].text) {
    return broken(`${where('fullchain')} does not begin with the certificate of ${where('cert')}`, 'fullchain');
  }
  const chainTexts = pemBlocks(contents.chain).map((block) => block.text);
  const fullchainRest = fullchainBlocks.slice(1).map((block) => block.text);
  if (chainTexts.join('\n') !== fullchainRest.join('\n')) {
    return broken(`${where('fullchain')} does not continue with the certificates of ${where('chain')}`, 'fullchain');
  }

  const verdict = gateCertificate({ leafPem: certBlocks[0].text, chainPems: fullchainRest, keyPem: keyBlocks[0]?.text as string }, now, policy, chainCache);
  if (!verdict.ok) {
    const file: LineageFile = verdict.part === 'leaf' ? 'cert' : verdict.part === 'chain' ? 'chain' : 'privkey';
    const subject = verdict.part === 'leaf' ? `the certificate in ${where('cert')}` : verdict.part === 'chain' ? `the chain in ${where('chain')}:` : `${where('privkey')}`;
    const against = verdict.part === 'key' && verdict.reason === 'does not match the certificate' ? ` in ${where('cert')}` : '';
    return broken(`${subject} ${verdict.reason}${against}`, file);
  }
  return { kind: 'ready', certificate: verdict.certificate, version: versions.cert };
}

function notReady(reason: string): LineageVerdict {
  return { kind: 'not-ready', reason };
}

function invalid(reason: string, file: string): LineageVerdict {
  return { kind: 'invalid', reason, file };
}
