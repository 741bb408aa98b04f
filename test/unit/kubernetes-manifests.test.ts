import { execFile } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { parse, stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load-config.js';
import { configSchema } from '../../src/config/schema.js';
import { describeManifest, loadManifests, modelFor, type Manifest } from '../helpers/kubernetes-manifests.js';
import { fieldProblems } from '../helpers/manifest-fields.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DIR = join(ROOT, 'config/kubernetes');
const HAPROXY = '/usr/sbin/haproxy';

const manifests = await loadManifests(DIR);
const only = <T>(kind: string): T => {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in config/kubernetes, found ${found.length}`);
  return (found[0] as Manifest).object as T;
};
const deployment = only<IDeployment>('Deployment');
const configMap = only<IConfigMap>('ConfigMap');
const pod = deployment.spec?.template.spec as IPodSpec;
const hotcert = pod.initContainers?.find((container) => container.name === 'hotcert') as IContainer;
const haproxy = pod.containers.find((container) => container.name === 'haproxy') as IContainer;
const hotcertYaml = configMap.data?.['hotcert.yaml'] ?? '';
const haproxyCfg = configMap.data?.['haproxy.cfg'] ?? '';

// The file as hotcert reads it in its container: the image's environment (Dockerfile ENV), then the Deployment's. A
// `kubernetes` section the schema does not know yet is left out; everything else is checked.
const imageEnv = Object.fromEntries([...(await readFile(join(ROOT, 'Dockerfile'), 'utf8')).matchAll(/\b(HOTCERT_[A-Z_]+)=(\S+)/g)].map((match) => [match[1], match[2]]));
const hotcertEnv = { ...imageEnv, ...Object.fromEntries((hotcert.env ?? []).map((entry) => [entry.name, entry.value ?? ''])) };
const { kubernetes, ...withoutKubernetes } = parse(hotcertYaml) as { kubernetes?: { secretDirs?: string[] } };
const hotcertConfig = parseConfigText(stringify('kubernetes' in configSchema.shape ? { kubernetes, ...withoutKubernetes } : withoutKubernetes), 'configmap.yaml hotcert.yaml', hotcertEnv);
const secretDirs = kubernetes?.secretDirs ?? [];

// Fields the API has and the models lack: @kubernetes-models/cert-manager 4.4 is generated from cert-manager
// 1.11.2's CRDs, and ingressClassName came with cert-manager 1.12.
const NEWER_THAN_MODELS = [/^certificates\.yaml#\d+ ClusterIssuer\/\S+ spec\.acme\.solvers\[\d+\]\.http01\.ingress\.ingressClassName: .*known properties/];

const haproxyInstalled = await access(HAPROXY).then(
  () => true,
  () => false,
);

const mountOf = (container: IContainer, volume: string) => container.volumeMounts?.find((mount) => mount.name === volume);
const volumeAt = (container: IContainer, path: string) =>
  container.volumeMounts?.find((mount) => path === mount.mountPath || path.startsWith(`${mount.mountPath}/`));
const secretVolume = pod.volumes?.find((volume) => volume.projected?.sources?.some((source) => source.secret));

describe('config/kubernetes manifests', () => {
  it('holds only kinds this check has a model for', () => {
    expect(manifests.length).toBeGreaterThan(0);
    expect(manifests.filter((manifest) => modelFor(manifest) === undefined).map(describeManifest)).toEqual([]);
  });

  it.each(manifests.map((manifest) => [describeManifest(manifest), manifest] as const))('%s validates against its schema', (_, manifest) => {
    expect(() => modelFor(manifest)?.validate(manifest.object)).not.toThrow();
  });

  it('names only fields the API knows, with values of their types', () => {
    const problems = fieldProblems(typed(manifests), ROOT);
    expect(problems.filter((problem) => !NEWER_THAN_MODELS.some((field) => field.test(problem)))).toEqual([]);
    // Once the models know a field, its entry goes.
    expect(NEWER_THAN_MODELS.filter((field) => !problems.some((problem) => field.test(problem)))).toEqual([]);
  });

  it('fails a manifest with a misspelt field or a value of the wrong type', () => {
    const broken = structuredClone(manifests.find((manifest) => manifest.kind === 'Deployment') as Manifest);
    const spec = broken.object.spec as { replicas: unknown; template: { spec: IPodSpec } };
    spec.replicas = 'two';
    expect(() => modelFor(broken)?.validate(broken.object)).toThrow(/replicas must be integer/);
    (spec.template.spec.containers[0]?.securityContext as Record<string, unknown>).readOnlyRootFileSystem = true;
    const problems = fieldProblems(typed([broken]), ROOT);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/spec\.template\.spec\.containers\[0\]\.securityContext\.readOnlyRootFileSystem: .*known properties/)]));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/spec\.replicas: /)]));
  });

  it('starts hotcert as a native sidecar, before HAProxy, once /livez answers', () => {
    expect(hotcert).toBeDefined();
    expect(hotcert.restartPolicy).toBe('Always');
    expect(hotcert.startupProbe?.httpGet?.path).toBe('/livez');
  });

  it('probes hotcert on /livez and /healthz at the address its metrics listen on', () => {
    const port = Number(hotcertConfig.metrics.listen.split(':').pop());
    const named = hotcert.ports?.find((entry) => entry.containerPort === port)?.name;
    expect(hotcertConfig.metrics.listen).not.toMatch(/^(127\.|localhost|\[::1\])/);
    expect(hotcert.livenessProbe?.httpGet).toEqual({ path: '/livez', port: named });
    expect(hotcert.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: named });
    expect(named).toBeDefined();
  });

  it.each([['hotcert'], ['haproxy']])('runs %s non-root on a read-only root filesystem, without privileges', (name) => {
    const container = name === 'hotcert' ? hotcert : haproxy;
    const context = container.securityContext ?? {};
    const effective = <K extends 'runAsNonRoot' | 'runAsUser' | 'seccompProfile'>(key: K) => context[key] ?? pod.securityContext?.[key];
    expect(effective('runAsNonRoot')).toBe(true);
    expect(effective('runAsUser')).toBe(99);
    expect(effective('seccompProfile')).toEqual({ type: 'RuntimeDefault' });
    expect(context).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.resources?.limits?.memory).toBeDefined();
  });

  it('mounts the Secrets read-only where hotcert.yaml reads them, as 0440 for fsGroup 99', () => {
    expect(secretVolume).toBeDefined();
    expect(secretDirs).toEqual([mountOf(hotcert, secretVolume?.name ?? '')?.mountPath]);
    expect(mountOf(hotcert, secretVolume?.name ?? '')?.readOnly).toBe(true);
    expect(mountOf(haproxy, secretVolume?.name ?? '')).toBeUndefined();
    expect(secretVolume?.projected?.defaultMode).toBe(0o440);
    expect(pod.securityContext?.fsGroup).toBe(99);
  });

  it('projects every Certificate\'s Secret as <secretName>/tls.crt and tls.key', () => {
    const certificates = manifests.filter((manifest) => manifest.kind === 'Certificate').map((manifest) => manifest.object as unknown as ICertificate);
    const projected = secretVolume?.projected?.sources?.map((source) => source.secret) ?? [];
    expect(projected.map((secret) => secret?.name).sort()).toEqual(certificates.map((certificate) => certificate.spec?.secretName).sort());
    for (const secret of projected) {
      expect(secret?.items).toEqual([
        { key: 'tls.crt', path: `${secret?.name}/tls.crt` },
        { key: 'tls.key', path: `${secret?.name}/tls.key` },
      ]);
    }
  });

  it('issues every Certificate from an issuer these files define', () => {
    const issuers = manifests.filter((manifest) => manifest.kind.endsWith('Issuer')).map((manifest) => `${manifest.kind}/${manifest.name}`);
    for (const manifest of manifests.filter((entry) => entry.kind === 'Certificate')) {
      const ref = (manifest.object as unknown as ICertificate).spec?.issuerRef;
      expect(issuers).toContain(`${ref?.kind ?? 'Issuer'}/${ref?.name}`);
    }
  });

  it('keeps hotcert\'s files, state and lock on an emptyDir HAProxy mounts read-only at the same path', () => {
    const files = volumeAt(hotcert, hotcertConfig.crtList.file);
    const volume = pod.volumes?.find((entry) => entry.name === files?.name);
    expect(volume?.emptyDir).toBeDefined();
    expect(files?.readOnly).not.toBe(true);
    for (const path of [hotcertConfig.bundles.dir, hotcertConfig.state.file, posix.dirname(hotcertConfig.crtList.file)]) {
      expect(volumeAt(hotcert, path)?.name).toBe(files?.name);
    }
    expect(mountOf(haproxy, files?.name ?? '')).toEqual({ ...files, readOnly: true });
    expect(hotcertConfig.bundles.mode).toBe(0o640);
    expect(String(hotcertConfig.bundles.group)).toBe('99');
  });

  it('points haproxy.cfg at hotcert\'s crt-list with strict-sni, and hotcert at HAProxy\'s admin socket', () => {
    const bind = haproxyCfg.split('\n').find((line) => /^\s*bind .* crt-list /.test(line)) ?? '';
    const target = hotcertConfig.targets[0];
    expect(bind.match(/ crt-list (\S+)/)?.[1]).toBe(target?.crtList);
    expect(target?.crtList).toBe(hotcertConfig.crtList.file); // both containers mount the files volume alike
    expect(bind).toMatch(/ strict-sni(\s|$)/);

    const socket = haproxyCfg.match(/^\s*stats socket (\S+)(.*)$/m);
    expect(socket?.[2]).toMatch(/ level admin(\s|$)/);
    expect(target?.runtime).toEqual({ kind: 'unix', path: socket?.[1] });
    const socketDir = volumeAt(haproxy, socket?.[1] ?? '');
    expect(socketDir).toBeDefined();
    expect(mountOf(hotcert, socketDir?.name ?? '')?.mountPath).toBe(socketDir?.mountPath);
  });

  (haproxyInstalled ? it : it.skip)(`haproxy.cfg passes haproxy -c, on an empty crt-list${haproxyInstalled ? '' : ` (skipped: no ${HAPROXY})`}`, async () => {
    const temp = await makeTempDir('k8s-haproxy-cfg');
    try {
      // Each path under one of the container's mounts moves under the temp dir; the crt-list starts empty, as at
      // the first boot of a pod.
      let text = haproxyCfg;
      for (const mount of haproxy.volumeMounts ?? []) {
        text = text.split(`${mount.mountPath}/`).join(`${temp.path}${mount.mountPath}/`);
        await mkdir(join(temp.path, mount.mountPath), { recursive: true });
      }
      await writeFile(join(temp.path, hotcertConfig.crtList.file), '');
      await writeFile(join(temp.path, 'haproxy.cfg'), text);
      const { stdout, stderr } = await promisify(execFile)(HAPROXY, ['-c', '-f', join(temp.path, 'haproxy.cfg')]);
      expect(`${stdout}${stderr}`).toMatch(/Configuration file is valid/);
      // The one warning expected: the bind has no certificate until hotcert adds the first.
      const warnings = `${stdout}${stderr}`.split('\n').filter((line) => /\[(WARNING|ALERT)\]/.test(line));
      expect(warnings.filter((line) => !/no SSL certificate specified for bind ':8443'/.test(line))).toEqual([]);
    } finally {
      await temp.remove();
    }
  });
  if (!haproxyInstalled) console.warn(`config/kubernetes haproxy.cfg not checked by haproxy -c: ${HAPROXY} is not installed`);
});

function typed(list: readonly Manifest[]) {
  return list.map((manifest) => {
    const model = modelFor(manifest);
    if (!model) throw new Error(`${describeManifest(manifest)}: no model`);
    return { label: describeManifest(manifest), typeModule: model.typeModule, typeName: model.typeName, object: manifest.object };
  });
}
