/** The PEM blocks of a text, each with its type (`CERTIFICATE`, `PRIVATE KEY`, …), in order. */
export interface PemBlock {
  readonly type: string;
  /** The whole block, BEGIN and END lines included, with `\n` line ends. */
  readonly text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

export function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(BLOCK)].map((match) => ({ type: match[1] as string, text: match[0].replace(/\r\n/g, '\n') }));
}

const CERTIFICATE_BLOCK = /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/\n]+={0,2})\n-----END CERTIFICATE-----\n?$/;

/** The DER of one PEM certificate block in the form OpenSSL writes it (plain base64 lines), else undefined. */
export function certificateDer(pem: string): Uint8Array | undefined {
  const body = CERTIFICATE_BLOCK.exec(pem)?.[1];
  if (body === undefined) return undefined;
  const base64 = body.replace(/\n/g, '');
  const der = Buffer.from(base64, 'base64');
  // Buffer's decoder skips what is not base64; OpenSSL's does not. Only the canonical text counts.
  return der.toString('base64') === base64 ? der : undefined;
}
