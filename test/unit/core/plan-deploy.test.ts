import { decide, type DecideInput } from '../../../src/core/plan-deploy.js';

const OLD = new Date('2026-09-01T00:00:00Z');
const NEW = new Date('2026-11-01T00:00:00Z');

const base: DecideInput = {
  snapshot: { serial: 'BBBB', notBefore: NEW },
  served: { serial: 'BBBB', notBefore: NEW, status: 'Used' },
  bundleOnDisk: true,
  crtListFileLine: 'present',
  runtimeOnly: false,
  force: false,
};

describe('decide', () => {
  it.each<[string, Partial<DecideInput>, ReturnType<typeof decide>]>([
    ['served, on disk and listed: nothing to do', {}, { kind: 'unchanged' }],
    [
      'a renewal: set + commit and the new bundle on disk',
      { served: { serial: 'AAAA', notBefore: OLD, status: 'Used' }, bundleOnDisk: false },
      { kind: 'apply', outcome: 'deployed', writeBundle: true, runtime: 'update', runtimeCrtList: 'none', crtListFile: 'none' },
    ],
    [
      'a new lineage: new + set + commit, a line in the runtime crt-list and in the file',
      { served: undefined, bundleOnDisk: false, crtListFileLine: 'absent' },
      { kind: 'apply', outcome: 'added', writeBundle: true, runtime: 'create', runtimeCrtList: 'add', crtListFile: 'write' },
    ],
    [
      'a store left Unused (added, never listed): only the crt-list add',
      { served: { serial: 'BBBB', notBefore: NEW, status: 'Unused' } },
      { kind: 'apply', outcome: 'added', writeBundle: false, runtime: 'none', runtimeCrtList: 'add', crtListFile: 'none' },
    ],
    [
      'an Empty store (new ssl cert without commit): set + commit + add',
      { served: { serial: undefined, notBefore: undefined, status: 'Empty' } },
      { kind: 'apply', outcome: 'added', writeBundle: false, runtime: 'update', runtimeCrtList: 'add', crtListFile: 'none' },
    ],
    [
      'served but the bundle file differs: only the file is repaired',
      { bundleOnDisk: false },
      { kind: 'apply', outcome: 'deployed', writeBundle: true, runtime: 'none', runtimeCrtList: 'none', crtListFile: 'none', reason: 'served already; bundle file brought in step' },
    ],
    [
      'served but the crt-list file lacks the line: only the file is repaired',
      { crtListFileLine: 'absent' },
      { kind: 'apply', outcome: 'deployed', writeBundle: false, runtime: 'none', runtimeCrtList: 'none', crtListFile: 'write', reason: 'served already; crt-list line brought in step' },
    ],
    [
      'the line\'s options changed: the runtime line is replaced and the file rewritten',
      { crtListFileLine: 'differs' },
      { kind: 'apply', outcome: 'deployed', writeBundle: false, runtime: 'none', runtimeCrtList: 'replace', crtListFile: 'write' },
    ],
    [
      'a runtime-only target ignores hotcert\'s files',
      { runtimeOnly: true, bundleOnDisk: false, crtListFileLine: 'absent' },
      { kind: 'unchanged' },
    ],
  ])('%s', (_label, overrides, expected) => {
    expect(decide({ ...base, ...overrides })).toEqual(expected);
  });

  it('holds back a certificate older than the one served (Certbot rolled its links back)', () => {
    const plan = decide({ ...base, snapshot: { serial: 'AAAA', notBefore: OLD }, served: { serial: 'BBBB', notBefore: NEW, status: 'Used' } });
    expect(plan.kind).toBe('held');
    expect(plan.kind === 'held' && plan.reason).toContain('not rolled back without --force');
  });

  it('deploys the older certificate with --force', () => {
    const plan = decide({ ...base, force: true, snapshot: { serial: 'AAAA', notBefore: OLD }, served: { serial: 'BBBB', notBefore: NEW, status: 'Used' } });
    expect(plan).toMatchObject({ kind: 'apply', runtime: 'update' });
  });
});
