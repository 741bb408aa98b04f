import type { GatedCertificate } from '../../../src/core/certificate-gate.js';
import type { CertificateSummary, DeployFacts, StoreFacts } from '../../../src/core/facts.js';
import { planDeploy, planRemoval, type DeployPlan } from '../../../src/core/plan-deploy.js';
import { planFallback } from '../../../src/core/plan-fallback.js';

const NOW = new Date('2026-12-01T00:00:00Z');
const day = (offset: number): Date => new Date(NOW.getTime() + offset * 86_400_000);
const CHAIN = ['/CN=R3|/CN=ISRG Root X1'];

function certificate(leafSha1: string, notBefore: Date, chain = CHAIN): GatedCertificate {
  return { bundle: `bundle ${leafSha1} ${chain.join()}`, bundleDigest: `digest-${leafSha1}-${chain.join()}`, identity: { leafSha1, chain }, serial: `S${leafSha1}`, notBefore, notAfter: day(80), dnsNames: ['site.test'] };
}

function summary(cert: GatedCertificate): CertificateSummary {
  return { identity: cert.identity, serial: cert.serial, notBefore: cert.notBefore, notAfter: cert.notAfter, dnsNames: cert.dnsNames };
}

const NEW = certificate('BBBB', day(-1));
const OLD = certificate('AAAA', day(-30));
const used = (cert: GatedCertificate): StoreFacts => ({ status: 'Used', certificate: summary(cert) });

/** In step: the source holds NEW, HAProxy serves it, hotcert's files hold it. */
const inStep: DeployFacts = {
  name: 'site',
  target: 'edge',
  source: { kind: 'ready', certificate: NEW },
  files: { bundle: { digest: NEW.bundleDigest, certificate: summary(NEW) }, crtListLine: 'present' },
  store: used(NEW),
  runtimeOnly: false,
  commandBytes: 3000,
  maxCommandBytes: 15_872,
  refused: undefined,
  servedElsewhere: false,
  previousBundle: 'unknown',
  lastDeployed: undefined,
  force: false,
  now: NOW,
  clockSkewMs: 300_000,
};

const renewal: Partial<DeployFacts> = { store: used(OLD), files: { bundle: { digest: OLD.bundleDigest, certificate: summary(OLD) }, crtListLine: 'present' } };

describe('planDeploy', () => {
  it.each<[string, Partial<DeployFacts>, DeployPlan]>([
    ['served, on disk and listed: nothing to do', {}, { kind: 'unchanged' }],
    ['a renewal: the bundle first, then the swap, verified', renewal, { kind: 'apply', outcome: 'deployed', steps: ['write-bundle', 'swap', 'verify'] }],
    [
      'a new certificate: bundle, store, swap, runtime line, verified, then the file\'s line',
      { store: undefined, files: { bundle: undefined, crtListLine: 'absent' } },
      { kind: 'apply', outcome: 'added', steps: ['write-bundle', 'new-store', 'swap', 'add-runtime-line', 'verify', 'write-crt-list-line'] },
    ],
    ['a store left Unused (added, never listed): only the runtime line', { store: { status: 'Unused', certificate: summary(NEW) } }, { kind: 'apply', outcome: 'added', steps: ['add-runtime-line', 'verify'] }],
    ['an Empty store: swap and runtime line', { store: { status: 'Empty', certificate: undefined } }, { kind: 'apply', outcome: 'added', steps: ['swap', 'add-runtime-line', 'verify'] }],
    [
      'served, but the bundle file differs: only the file is repaired',
      { files: { bundle: { digest: 'other', certificate: summary(NEW) }, crtListLine: 'present' } },
      { kind: 'apply', outcome: 'deployed', steps: ['write-bundle', 'verify'], reason: 'served already; bundle file brought in step' },
    ],
    [
      'served, but no line in the file (a restart would not serve it)',
      { files: { bundle: { digest: NEW.bundleDigest, certificate: summary(NEW) }, crtListLine: 'absent' } },
      { kind: 'apply', outcome: 'deployed', steps: ['verify', 'write-crt-list-line'], reason: 'served already; crt-list line brought in step' },
    ],
    ['the line\'s options changed: replaced at runtime and in the file', { files: { bundle: { digest: NEW.bundleDigest, certificate: summary(NEW) }, crtListLine: 'differs' } }, { kind: 'apply', outcome: 'deployed', steps: ['replace-runtime-line', 'verify', 'write-crt-list-line'] }],
    [
      'the same leaf with another chain is another certificate (a broken chain fixed)',
      { store: used(certificate('BBBB', day(-1), ['/CN=Wrong|/CN=Wrong'])) },
      { kind: 'apply', outcome: 'deployed', steps: ['swap', 'verify'] },
    ],
    ['runtime-only: the files do not count', { runtimeOnly: true, files: { bundle: undefined, crtListLine: 'absent' } }, { kind: 'unchanged' }],
  ])('%s', (_label, facts, expected) => {
    expect(planDeploy({ ...inStep, ...facts })).toEqual(expected);
  });

  it('not ready and invalid sources plan nothing', () => {
    expect(planDeploy({ ...inStep, source: { kind: 'not-ready', reason: 'flipping' } })).toEqual({ kind: 'not-ready', reason: 'flipping' });
    const error = new Error('broken');
    expect(planDeploy({ ...inStep, source: { kind: 'invalid', error } })).toEqual({ kind: 'failed', error, cleanup: [] });
  });

  describe('the anti-rollback rule (certbot #10655)', () => {
    const rolledBack: Partial<DeployFacts> = { source: { kind: 'ready', certificate: OLD }, store: used(NEW) };

    it('holds a certificate older than the one hotcert\'s file holds', () => {
      expect(planDeploy({ ...inStep, ...rolledBack })).toMatchObject({ kind: 'held', reason: expect.stringMatching(/older .* than the one hotcert deployed/) });
    });

    it('--force deploys it', () => {
      expect(planDeploy({ ...inStep, ...rolledBack, force: true })).toMatchObject({ kind: 'apply', steps: ['write-bundle', 'swap', 'verify'] });
    });

    it('judges against hotcert\'s file, never against what a store holds (another writer\'s certificate)', () => {
      const foreign = certificate('FFFF', day(-1));
      expect(planDeploy({ ...inStep, ...renewal, store: used(foreign), source: { kind: 'ready', certificate: NEW } })).toMatchObject({ kind: 'apply', steps: ['write-bundle', 'swap', 'verify'] });
    });

    it.each<[string, CertificateSummary]>([
      ['not yet valid', { ...summary(NEW), notBefore: day(2) }],
      ['expired', { ...summary(NEW), notAfter: day(-1) }],
      ['for other names', { ...summary(NEW), dnsNames: ['other.test'] }],
    ])('a reference that is %s is no reference', (_label, reference) => {
      const facts = { ...inStep, ...rolledBack, files: { bundle: { digest: 'x', certificate: reference }, crtListLine: 'present' as const } };
      expect(planDeploy(facts).kind).toBe('apply');
    });

    it('a runtime-only target is judged against what hotcert deployed there', () => {
      expect(planDeploy({ ...inStep, ...rolledBack, runtimeOnly: true, lastDeployed: summary(NEW) }).kind).toBe('held');
      expect(planDeploy({ ...inStep, ...rolledBack, runtimeOnly: true, lastDeployed: undefined }).kind).toBe('apply');
    });
  });

  it('refuses a bundle larger than the target takes, before writing anything', () => {
    expect(planDeploy({ ...inStep, ...renewal, commandBytes: 20_000 })).toMatchObject({ kind: 'failed', error: { code: 'BUNDLE_TOO_LARGE' }, cleanup: [] });
  });

  describe('after HAProxy refused the bundle', () => {
    const wrote: Partial<DeployFacts> = { files: { bundle: { digest: NEW.bundleDigest, certificate: summary(NEW) }, crtListLine: 'absent' } };
    const refusal = (createdStore: boolean) => ({ digest: NEW.bundleDigest, error: new Error('refused'), createdStore });

    it('a new certificate: the store it made goes, and the bundle file', () => {
      const plan = planDeploy({ ...inStep, ...wrote, store: { status: 'Unused', certificate: summary(NEW) }, refused: refusal(true), previousBundle: 'none' });
      expect(plan).toMatchObject({ kind: 'failed', cleanup: ['delete-store', 'restore-bundle'] });
    });

    it('a renewal: the previous bundle is put back', () => {
      const plan = planDeploy({ ...inStep, ...wrote, store: used(OLD), refused: refusal(false), previousBundle: 'kept' });
      expect(plan).toMatchObject({ kind: 'failed', cleanup: ['restore-bundle'] });
    });

    it('the bundle stays when another target serves it, or when what it replaced is not known', () => {
      expect(planDeploy({ ...inStep, ...wrote, store: used(OLD), refused: refusal(false), previousBundle: 'kept', servedElsewhere: true })).toMatchObject({ cleanup: [] });
      expect(planDeploy({ ...inStep, ...wrote, store: used(OLD), refused: refusal(false), previousBundle: 'unknown' })).toMatchObject({ cleanup: [] });
    });

    it('a line that names a bundle about to go goes first', () => {
      const plan = planDeploy({ ...inStep, files: { bundle: { digest: NEW.bundleDigest, certificate: summary(NEW) }, crtListLine: 'present' }, store: undefined, refused: refusal(false), previousBundle: 'none' });
      expect(plan).toMatchObject({ cleanup: ['remove-crt-list-line', 'restore-bundle'] });
    });
  });
});

describe('planRemoval', () => {
  it('runtime entries, store, the file\'s line, then the bundle', () => {
    expect(planRemoval({ store: used(NEW), files: inStep.files, runtimeOnly: false })).toEqual(['remove-runtime-lines', 'delete-store', 'remove-crt-list-line', 'remove-bundle']);
    expect(planRemoval({ store: undefined, files: { bundle: undefined, crtListLine: 'absent' }, runtimeOnly: false })).toEqual([]);
  });
});

describe('planFallback', () => {
  it('keeps every rule: a rollback is held there too', () => {
    expect(planFallback({ ...inStep, source: { kind: 'ready', certificate: OLD }, handshakeLeafSha1: 'BBBB' }).kind).toBe('held');
  });

  it('files in step, then a reload unless the container serves the certificate already', () => {
    expect(planFallback({ ...inStep, ...renewal, handshakeLeafSha1: 'AAAA' })).toEqual({ kind: 'apply', steps: ['write-bundle', 'reload', 'verify-by-handshake'] });
    expect(planFallback({ ...inStep, handshakeLeafSha1: 'BBBB' })).toEqual({ kind: 'unchanged' });
  });
});
