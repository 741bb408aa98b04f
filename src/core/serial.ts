/**
 * Serials compare as numbers: HAProxy prints the DER integer's bytes (a leading 00 when the top bit is set) and
 * Node prints them its own way, so both are upper-cased and stripped of leading zeros.
 */
export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/[^0-9A-Fa-f]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
  return hex;
}
