import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import {
  LINEAGE_FILES,
  type LineageAssessment,
  type LineageFile,
  type RawLineage,
  type RawLineageFile,
} from './lineage-snapshot.js';
import { pemBlocks } from '../../core/pem.js';
import { normalizeSerial } from '../../core/serial.js';

const ARCHIVE_NAME = /^(cert|privkey|chain|fullchain)(\d+)\.pem$/;

/**
 * Decides whether a lineage read from disk is a consistent snapshot (certbot `storage.py`):
 * - Certbot flips the four live links one at a time (unlink, then symlink, in the order cert, privkey, chain,
 *   fullchain), with `previous_*.pem` links present from before the first flip until after the last: a link may be
 *   missing, or point at version N while the next still points at N-1. That is `not-ready`, never an error.
 * - On first issuance the links are created dangling and the files written through them afterwards, so a file can
 *   be missing or empty for a moment; while `.certbot.lock` exists, an unparsable or empty file is `not-ready` too.
 * - Certbot never fsyncs, so after a crash a file can stay empty or cut short: without the lock that is `invalid`.
 * Pure: no I/O; `now` is the only clock; `isCertificate` checks chain certificates (callers may memoize it).
 */
export function assessLineage(raw: RawLineage, now: Date, isCertificate: (text: string) => boolean = parsesAsCertificate): LineageAssessment {
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
        return invalid(`${where(file)} cannot be read: ${entry.code}`, where(file));
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
  const version = versions.cert;

  // From here on the links agree. What is still wrong is either being written right now (Certbot holds its lock)
  // or broken for good.
  const broken = (reason: string, file: LineageFile): LineageAssessment =>
    raw.certbotRunning ? notReady(`${reason} while Certbot is running`) : invalid(reason, where(file));

  for (const file of LINEAGE_FILES) {
    if (contents[file].trim() === '') return broken(`${where(file)} is empty`, file);
  }

  const certBlocks = pemBlocks(contents.cert);
  if (certBlocks.length !== 1 || certBlocks[0]?.type !== 'CERTIFICATE') {
    return broken(`${where('cert')} does not hold exactly one PEM certificate`, 'cert');
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certBlocks[0].text);
  } catch {
    return broken(`${where('cert')} is not a valid certificate`, 'cert');
  }

  const keyBlocks = pemBlocks(contents.privkey).filter((block) => block.type.endsWith('PRIVATE KEY'));
  if (keyBlocks.length !== 1) return broken(`${where('privkey')} does not hold exactly one PEM private key`, 'privkey');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyBlocks[0]?.text as string);
  } catch {
    return broken(`${where('privkey')} is not a valid unencrypted private key`, 'privkey');
  }

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
  if (!fullchainRest.every((text) => isCertificate(text))) {
    return broken(`${where('chain')} holds a certificate that does not parse`, 'chain');
  }

  if (!leaf.checkPrivateKey(key)) {
    return broken(`${where('privkey')} does not match the certificate in ${where('cert')}`, 'privkey');
  }
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    return invalid(`the certificate in ${where('cert')} expired at ${notAfter.toISOString()}`, where('cert'));
  }

  return {
    kind: 'ready',
    snapshot: {
      name: raw.name,
      version,
      fullchainPem: fullchainBlocks.map((block) => block.text).join('\n') + '\n',
      keyPem: (keyBlocks[0]?.text as string) + '\n',
      serial: normalizeSerial(leaf.serialNumber),
      notBefore: new Date(leaf.validFrom),
      notAfter,
      sha1Fingerprint: leaf.fingerprint.replace(/:/g, '').toUpperCase(),
      dnsNames: (leaf.subjectAltName ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.startsWith('DNS:'))
        .map((entry) => entry.slice(4)),
    },
  };
}

/** Whether a PEM certificate text parses. */
export function parsesAsCertificate(text: string): boolean {
  try {
    new X509Certificate(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * parsesAsCertificate with a memory: lineages share a handful of intermediates (Let's Encrypt has a few), so each
 * chain certificate text is parsed once per engine. Bounded so that odd inputs cannot grow it without limit.
 */
export function rememberingCertificateCheck(limit = 64): (text: string) => boolean {
  const known = new Map<string, boolean>();
  return (text) => {
    let parses = known.get(text);
    if (parses === undefined) {
      parses = parsesAsCertificate(text);
      if (known.size >= limit) known.clear();
      known.set(text, parses);
    }
    return parses;
  };
}

function notReady(reason: string): LineageAssessment {
  return { kind: 'not-ready', reason };
}

function invalid(reason: string, file?: string): LineageAssessment {
  return file === undefined ? { kind: 'invalid', reason } : { kind: 'invalid', reason, file };
}
