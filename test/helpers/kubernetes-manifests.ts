import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';

/** One YAML document of a manifest file. */
export interface Manifest {
  readonly file: string;
  /** 1-based position of the document in its file. */
  readonly index: number;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly object: Record<string, unknown>;
}

/** How one kind is checked: the model's JSON-schema validation, and the declaration its fields are checked against. */
export interface ManifestModel {
  validate(object: Record<string, unknown>): void;
  /** Module and interface name of the model's TypeScript declaration. */
  readonly typeModule: string;
  readonly typeName: string;
}

// One subpath per kind: the packages' index modules pull in every model of the group (hundreds of schemas).
const MODELS: Readonly<Record<string, ManifestModel>> = {
  'apps/v1 Deployment': model((data) => new Deployment(data as never), 'kubernetes-models/apps/v1/Deployment', 'IDeployment'),
  'v1 ConfigMap': model((data) => new ConfigMap(data as never), 'kubernetes-models/v1/ConfigMap', 'IConfigMap'),
  'v1 Service': model((data) => new Service(data as never), 'kubernetes-models/v1/Service', 'IService'),
  'cert-manager.io/v1 Certificate': model((data) => new Certificate(data as never), '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate', 'ICertificate'),
  'cert-manager.io/v1 ClusterIssuer': model((data) => new ClusterIssuer(data as never), '@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer', 'IClusterIssuer'),
};

function model(create: (data: unknown) => { validate(): void }, typeModule: string, typeName: string): ManifestModel {
  return { validate: (object) => create(object).validate(), typeModule, typeName };
}

/** The model of a manifest's apiVersion and kind, or undefined for a kind this check does not know. */
export function modelFor(manifest: Pick<Manifest, 'apiVersion' | 'kind'>): ManifestModel | undefined {
  return MODELS[`${manifest.apiVersion} ${manifest.kind}`];
}

/**
 * Every document of every `*.yaml` in `dir`, read as YAML 1.1: kubectl decodes with sigs.k8s.io/yaml (go-yaml),
 * where `0440` is octal and `yes` a boolean, unlike YAML 1.2.
 * @throws on a YAML error or a document that is not an object with apiVersion, kind and metadata.name.
 */
export async function loadManifests(dir: string): Promise<Manifest[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.yaml')).sort();
  const manifests: Manifest[] = [];
  for (const file of files) {
    const documents = parseAllDocuments(await readFile(join(dir, file), 'utf8'), { version: '1.1', uniqueKeys: true });
    if (!Array.isArray(documents)) continue; // an empty stream
    documents.forEach((document, position) => {
      const where = `${file} document ${position + 1}`;
      if (document.errors.length > 0) throw new Error(`${where}: ${document.errors.map((error) => error.message).join('; ')}`);
      const object: unknown = document.toJS();
      if (object === null) return;
      const { apiVersion, kind, metadata } = (object ?? {}) as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
      if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof metadata?.name !== 'string') {
        throw new Error(`${where}: needs apiVersion, kind and metadata.name`);
      }
      manifests.push({ file, index: position + 1, apiVersion, kind, name: metadata.name, object: object as Record<string, unknown> });
    });
  }
  return manifests;
}

/** `deployment.yaml#1 Deployment/haproxy`, for messages. */
export function describeManifest(manifest: Manifest): string {
  return `${manifest.file}#${manifest.index} ${manifest.kind}/${manifest.name}`;
}
