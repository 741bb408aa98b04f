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
