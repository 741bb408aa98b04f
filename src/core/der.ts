/**
 * Just enough DER (X.690) to find fields inside a key or a certificate: tag, length, contents, nothing interpreted.
 * Definite lengths only, as DER requires; anything else, or an element running past its parent, is undefined.
 */
export interface DerElement {
  readonly tag: number;
  /** The contents, without tag and length. */
  readonly contents: Uint8Array;
  /** The whole element, tag and length included. */
  readonly encoded: Uint8Array;
}

export const DER_TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** The element at the start of `bytes`, and what follows it; undefined when it is not well formed. */
export function readDerElement(bytes: Uint8Array): { readonly element: DerElement; readonly rest: Uint8Array } | undefined {
  if (bytes.length < 2) return undefined;
  const tag = bytes[0] as number;
  // High tag numbers (0x1f) never occur in the structures read here.
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = bytes[1] as number;
  let offset = 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || bytes.length < 2 + octets) return undefined;
    length = 0;
    for (let index = 0; index < octets; index += 1) length = length * 256 + (bytes[2 + index] as number);
    offset = 2 + octets;
  }
  if (offset + length > bytes.length) return undefined;
  return { element: { tag, contents: bytes.subarray(offset, offset + length), encoded: bytes.subarray(0, offset + length) }, rest: bytes.subarray(offset + length) };
}

/** The elements a constructed element's contents hold, in order; undefined when they do not fill it exactly. */
export function derChildren(element: DerElement): DerElement[] | undefined {
  const children: DerElement[] = [];
  let rest = element.contents;
  while (rest.length > 0) {
    const read = readDerElement(rest);
    if (!read) return undefined;
    children.push(read.element);
    rest = read.rest;
  }
  return children;
}

/** `bytes` as exactly one element of the given tag, nothing after it. */
export function readWholeDer(bytes: Uint8Array, tag: number): DerElement | undefined {
  const read = readDerElement(bytes);
  return read && read.rest.length === 0 && read.element.tag === tag ? read.element : undefined;
}

export function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return Buffer.from(left.buffer, left.byteOffset, left.byteLength).equals(right);
}

/** The bytes of a BIT STRING of whole bytes (its first byte counts the unused bits of the last: none here). */
export function bitStringBytes(element: DerElement): Uint8Array | undefined {
  return element.tag === DER_TAG.bitString && element.contents[0] === 0 ? element.contents.subarray(1) : undefined;
}

/** An INTEGER of one byte with this value. */
export function isSmallInteger(element: DerElement | undefined, value: number): boolean {
  return element?.tag === DER_TAG.integer && element.contents.length === 1 && element.contents[0] === value;
}
