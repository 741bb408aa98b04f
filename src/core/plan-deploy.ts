/**
 * The pure decision: given a lineage's snapshot and what one target serves and what hotcert's files hold, what must
 * happen. No I/O: every fact comes in as a value, so each rule is tested with plain tables.
 */

export interface ServedState {
  readonly serial: string | undefined;
  readonly notBefore: Date | undefined;
  readonly status: string;
}

export interface DecideInput {
  readonly snapshot: { readonly serial: string; readonly notBefore: Date };
  /** What HAProxy holds under the bundle's path; undefined when it has no such store. */
  readonly served: ServedState | undefined;
  /** The bundle file on disk holds exactly the bundle of this snapshot. */
  readonly bundleOnDisk: boolean;
  /** The crt-list file's line for this bundle. */
  readonly crtListFileLine: 'present' | 'absent' | 'differs';
  /** HAProxy cannot read hotcert's files: only the runtime matters. */
  readonly runtimeOnly: boolean;
  /** The operator asked to deploy even an older certificate than the one served. */
  readonly force: boolean;
}

export type Plan =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'held'; readonly reason: string }
  | {
      readonly kind: 'apply';
      /** `added` when HAProxy starts serving the store for its names, `deployed` when it replaces a certificate. */
      readonly outcome: 'added' | 'deployed';
      readonly writeBundle: boolean;
      /** create: new + set + commit; update: set + commit; none: HAProxy already holds this certificate. */
      readonly runtime: 'create' | 'update' | 'none';
      /** add: the store is served by no crt-list yet; replace: the line's options or filters changed. */
      readonly runtimeCrtList: 'add' | 'replace' | 'none';
      readonly crtListFile: 'write' | 'none';
      readonly reason?: string;
    };

export function decide(input: DecideInput): Plan {
  const { snapshot, served } = input;
  const bundleOnDisk = input.runtimeOnly || input.bundleOnDisk;
  const fileLine = input.runtimeOnly ? 'present' : input.crtListFileLine;
  const sameCertificate = served?.serial === snapshot.serial;
  const inUse = served?.status === 'Used';

  if (sameCertificate && inUse && bundleOnDisk && fileLine === 'present') return { kind: 'unchanged' };

  // Certbot can move its links back to an older version (certbot #10655, ensure_deployed): never replace what is
  // served with an older certificate unless the operator forces it.
  if (
    served?.notBefore !== undefined &&
    !sameCertificate &&
    snapshot.notBefore.getTime() < served.notBefore.getTime() &&
    !input.force
  ) {
    return {
      kind: 'held',
      reason: `Certbot's live links point at a certificate older (notBefore ${snapshot.notBefore.toISOString()}) than the one served (notBefore ${served.notBefore.toISOString()}); not rolled back without --force`,
    };
  }

  const runtime = served === undefined ? 'create' : sameCertificate && served.status !== 'Empty' ? 'none' : 'update';
  const runtimeCrtList = !inUse ? 'add' : fileLine === 'differs' ? 'replace' : 'none';
  const repairs = [
    ...(bundleOnDisk ? [] : ['bundle file']),
    ...(fileLine === 'present' ? [] : ['crt-list line']),
  ];
  return {
    kind: 'apply',
    outcome: runtime === 'create' || runtimeCrtList === 'add' ? 'added' : 'deployed',
    writeBundle: !bundleOnDisk,
    runtime,
    runtimeCrtList,
    crtListFile: fileLine === 'present' ? 'none' : 'write',
    ...(runtime === 'none' && runtimeCrtList === 'none' ? { reason: `served already; ${repairs.join(' and ')} brought in step` } : {}),
  };
}
