import { assessLineage } from '../../../../src/sources/certbot/assess-lineage.js';
import type { RawLineage, RawLineageFile, LineageFile } from '../../../../src/sources/certbot/raw-lineage.js';
import { DEFAULT_GATE_POLICY } from '../../../../src/core/certificate-gate.js';
import { makeTestLineage, type TestLineagePems } from '../../../helpers/lineage-pems.js';
import { canonicalSerial } from '../../../../src/core/serial.js';

const NOW = new Date();

function raw(pems: TestLineagePems, overrides: Partial<Record<LineageFile, RawLineageFile>> = {}, extra: Partial<RawLineage> = {}): RawLineage {
  const read = (file: LineageFile, version = 2): RawLineageFile => ({
    state: 'read',
    linkTarget: `../../archive/site/${file}${version}.pem`,
    resolved: `/le/archive/site/${file}${version}.pem`,
    content: pems[file as keyof TestLineagePems],
  });
  return {
    name: 'site',
    certbotRunning: false,
    previousLinks: [],
    files: { cert: read('cert'), privkey: read('privkey'), chain: read('chain'), fullchain: read('fullchain'), ...overrides },
    ...extra,
  };
}

/** The leaf damaged in cert.pem and fullchain.pem alike, as a disk error would leave a file Certbot wrote once. */
function corrupt(pems: TestLineagePems): TestLineagePems {
  const cert = pems.cert.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
  return { ...pems, cert, fullchain: cert + pems.chain };
}

describe('assessLineage: Certbot\'s consistency rules (storage.py)', () => {
  let pems: TestLineagePems;
  let other: TestLineagePems;
  beforeAll(async () => {
    [pems, other] = await Promise.all([makeTestLineage(['site.test', 'www.site.test']), makeTestLineage(['other.test'])]);
  });

  it('a consistent lineage is ready, with the facts HAProxy shows', () => {
    const result = assessLineage(raw(pems), NOW, DEFAULT_GATE_POLICY);
    expect(result.kind).toBe('ready');
    if (result.kind !== 'ready') return;
    expect(result.version).toBe(2);
    expect(result.certificate.serial).toBe(canonicalSerial(pems.serial));
    expect(result.certificate.dnsNames).toEqual(['site.test', 'www.site.test']);
    expect(result.certificate.bundle.startsWith(pems.cert.trim())).toBe(true);
    expect(result.certificate.identity.chain).toEqual(['/CN=hotcert test intermediate|/CN=hotcert test intermediate']);
  });

  it.each<[string, () => RawLineage, RegExp]>([
    ['previous_* links present (mid-flip)', () => raw(pems, {}, { previousLinks: ['previous_cert.pem'] }), /switching its links/],
    ['a link missing (between unlink and symlink)', () => raw(pems, { privkey: { state: 'missing' } }), /privkey\.pem is missing/],
    ['a dangling link (first issuance)', () => raw(pems, { fullchain: { state: 'dangling', linkTarget: '../../archive/site/fullchain1.pem' } }), /does not exist yet/],
    [
      'links on mixed versions',
      () => raw(pems, { privkey: { state: 'read', linkTarget: '../../archive/site/privkey1.pem', resolved: '/le/archive/site/privkey1.pem', content: pems.privkey } }),
      /different versions \(cert 2, privkey 1, chain 2, fullchain 2\)/,
    ],
    ['an empty file while Certbot runs', () => raw(pems, { cert: { state: 'read', linkTarget: '../../archive/site/cert2.pem', resolved: '/x', content: '' } }, { certbotRunning: true }), /is empty while Certbot is running/],
    ['a key that does not match while Certbot runs', () => raw({ ...pems, privkey: other.privkey }, {}, { certbotRunning: true }), /does not match .* while Certbot is running/],
  ])('not ready: %s', (_label, make, reason) => {
    const result = assessLineage(make(), NOW, DEFAULT_GATE_POLICY);
    expect(result).toMatchObject({ kind: 'not-ready' });
    expect(result.kind === 'not-ready' && result.reason).toMatch(reason);
  });

  it.each<[string, () => RawLineage, RegExp]>([
    ['a link outside the letsencrypt dir', () => raw(pems, { cert: { state: 'outside', linkTarget: '/etc/shadow', resolved: '/etc/shadow' } }), /outside the letsencrypt directory/],
    ['a regular file instead of a link', () => raw(pems, { chain: { state: 'not-a-link' } }), /is not a symbolic link/],
    ['an unreadable file', () => raw(pems, { privkey: { state: 'unreadable', linkTarget: '../../archive/site/privkey2.pem', problem: 'cannot be read: EACCES' } }), /cannot be read: EACCES/],
    ['an empty file after a crash (no lock)', () => raw({ ...pems, fullchain: '' }), /fullchain\.pem is empty/],
    ['a corrupt certificate', () => raw(corrupt(pems)), /cert\.pem (is not a valid certificate|does not hold exactly one PEM certificate)/],
    ['a key that does not match', () => raw({ ...pems, privkey: other.privkey }), /privkey\.pem does not match the certificate/],
    ['a fullchain of another certificate', () => raw({ ...pems, fullchain: other.fullchain }), /fullchain\.pem does not begin with the certificate/],
    ['a link to a file that is not Certbot\'s', () => raw(pems, { cert: { state: 'read', linkTarget: '/srv/mine.pem', resolved: '/le/mine.pem', content: pems.cert } }), /not at an archive certN\.pem/],
  ])('invalid: %s', (_label, make, reason) => {
    const result = assessLineage(make(), NOW, DEFAULT_GATE_POLICY);
    expect(result).toMatchObject({ kind: 'invalid' });
    expect(result.kind === 'invalid' && result.reason).toMatch(reason);
  });

  it('an expired certificate is invalid, never deployed', () => {
    const later = new Date(Date.now() + 400 * 86_400_000);
    expect(assessLineage(raw(pems), later, DEFAULT_GATE_POLICY)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/expired at/) });
  });

  it('no reason ever quotes the PEM', () => {
    const result = assessLineage(raw({ ...pems, privkey: other.privkey }), NOW, DEFAULT_GATE_POLICY);
    expect(JSON.stringify(result)).not.toContain('PRIVATE KEY');
  });
});
