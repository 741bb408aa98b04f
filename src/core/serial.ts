/**
 * A serial as HAProxy's `show ssl cert` and `openssl x509 -serial` print it: upper-case hex of the integer's
 * bytes, two digits a byte, so a leading zero stays (`03FF08B41E6F5FD8`) and a DER sign byte (`00` before a high
 * first byte) does not. The same text everywhere hotcert prints or compares one, so that a grep across tools works.
 */
export function canonicalSerial(serial: string): string {
  const hex = serial.replace(/[^0-9A-Fa-f]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
  return hex.length % 2 === 1 ? `0${hex}` : hex;
}
