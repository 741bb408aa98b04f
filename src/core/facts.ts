import type { CertIdentity } from './cert-identity.js';
import type { GatedCertificate } from './certificate-gate.js';

/** What a source holds under one certificate name, read as one consistent snapshot and passed through the gate. */
export type SourceFacts =
  | { readonly kind: 'ready'; readonly certificate: GatedCertificate }
  /** The source is in the middle of writing it (Certbot flipping links, kubelet swapping `..data`): not an error. */
  | { readonly kind: 'not-ready'; readonly reason: string }
  /** It is broken in a way waiting will not fix: `error` names the certificate, the file and what is wrong. */
  | { readonly kind: 'invalid'; readonly error: Error }
  /** The source no longer has it (`certbot delete`, a Secret unmounted). */
  | { readonly kind: 'absent' };

/** A certificate as a file or an HAProxy store describes it. */
export interface CertificateSummary {
  readonly identity: CertIdentity;
  readonly serial: string | undefined;
  readonly notBefore: Date | undefined;
  readonly notAfter: Date | undefined;
  readonly dnsNames: readonly string[];
}

/** hotcert's own files for one name: what a restart of HAProxy would load. */
export interface FileFacts {
  /** The bundle file: the digest of its bytes, and its leaf when it parses. Undefined: there is none. */
  readonly bundle: { readonly digest: string; readonly certificate: CertificateSummary | undefined } | undefined;
  /** The crt-list file's line for the bundle, compared with the wanted line (options and SNI filters). */
  readonly crtListLine: 'present' | 'absent' | 'differs';
}

/** What one HAProxy holds under the name's store path (`show ssl cert <path>`). */
export interface StoreFacts {
  /** `Used`: served through a crt-list or bind line; `Unused`: loaded, served nowhere; `Empty`: no certificate. */
  readonly status: string;
  /** Undefined for an Empty store. */
  readonly certificate: CertificateSummary | undefined;
}

/** HAProxy refused a bundle on this target during this reconcile: that same bundle is not tried again. */
export interface Refusal {
  readonly digest: string;
  readonly error: Error;
  /** hotcert made the store for it (`new ssl cert`), so the store serves nothing and may go. */
  readonly createdStore: boolean;
}

/** Everything the plan of one certificate on one target depends on. */
export interface DeployFacts {
  readonly name: string;
  readonly target: string;
  readonly source: SourceFacts;
  readonly files: FileFacts;
  /** Undefined: HAProxy has no store of that path. */
  readonly store: StoreFacts | undefined;
  /** HAProxy there cannot read hotcert's files: only what it holds at runtime counts. */
  readonly runtimeOnly: boolean;
  /** Bytes of `set ssl cert <path> <<` with the source's bundle, and the most the target takes. */
  readonly commandBytes: number;
  readonly maxCommandBytes: number;
  readonly refused: Refusal | undefined;
  /** Another target that reads hotcert's files serves the source's certificate now. */
  readonly servedElsewhere: boolean;
  /** What the bundle file held before this reconcile wrote it: known (text kept), none, or not known (a crash). */
  readonly previousBundle: 'kept' | 'none' | 'unknown';
  /** What hotcert last deployed to a runtime-only target, which has no file to read it back from. */
  readonly lastDeployed: CertificateSummary | undefined;
  readonly force: boolean;
  readonly now: Date;
  readonly clockSkewMs: number;
}
