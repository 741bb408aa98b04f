import { containerTarget, selects, targetsOfEvent } from '../../../src/targets/container-targets.js';
import type { TargetConfig } from '../../../src/config/schema.js';

const base = { crtList: '/c/list.txt', bundlesDir: '/c/certs', timeoutMs: 1000, maxCommandBytes: 15_872, runtimeOnly: false };
const byName: TargetConfig = { ...base, name: 'one', runtime: { kind: 'exec', path: '/run/a.sock' }, docker: { container: 'haproxy' } };
const byLabel: TargetConfig = { ...base, name: 'edge', runtime: { kind: 'unix', path: '/srv/{container}/admin.sock' }, docker: { label: 'role=lb' } };
const plain: TargetConfig = { ...base, name: 'host', runtime: { kind: 'unix', path: '/run/haproxy/admin.sock' } };

describe('which containers a target selects', () => {
  it('matches a container by name, or by a 12+ character id prefix', () => {
    expect(selects(byName, { name: 'haproxy', id: 'f'.repeat(64), labels: {} })).toBe(true);
    expect(selects({ ...byName, docker: { container: 'abcdef123456' } }, { name: 'x1', id: `abcdef123456${'0'.repeat(52)}`, labels: {} })).toBe(true);
    expect(selects(byName, { name: 'haproxy-2', id: 'f'.repeat(64), labels: {} })).toBe(false);
    expect(selects(plain, { name: 'haproxy', id: 'f'.repeat(64), labels: {} })).toBe(false);
  });

  it('matches a label as KEY=VALUE, or KEY alone whatever its value', () => {
    expect(selects(byLabel, { name: 'a1', id: '1', labels: { role: 'lb' } })).toBe(true);
    expect(selects(byLabel, { name: 'a1', id: '1', labels: { role: 'db' } })).toBe(false);
    expect(selects({ ...byLabel, docker: { label: 'role' } }, { name: 'a1', id: '1', labels: { role: 'db' } })).toBe(true);
  });

  it('turns a label target into one target per container, named after it, with its own socket path', () => {
    expect(containerTarget(byLabel, 'lb-1')).toEqual({
      ...byLabel,
      name: 'edge/lb-1',
      runtime: { kind: 'unix', path: '/srv/lb-1/admin.sock' },
      docker: { container: 'lb-1' },
    });
  });

  it('finds the targets an event is about', () => {
    const event = { action: 'start', id: '1', name: 'lb-2', labels: { role: 'lb' }, signal: undefined };
    expect(targetsOfEvent([byName, byLabel, plain], event).map((target) => target.name)).toEqual(['edge/lb-2']);
    expect(targetsOfEvent([byName, byLabel, plain], { ...event, name: 'haproxy', labels: {} }).map((target) => target.name)).toEqual(['one']);
  });
});
