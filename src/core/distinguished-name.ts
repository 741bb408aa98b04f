/**
 * A distinguished name in the form HAProxy's `show ssl cert` prints it (`Subject:`, `Chain Subject:`): each entry
 * as `/SN=value`, the value's bytes as they are (ssl_sock_get_dn_oneline, src/ssl_utils.c), e.g.
 * `/C=US/O=Let's Encrypt/CN=R3`.
 *
 * Node's X509Certificate prints the same name one entry per line, multi-valued entries joined by ` + `, with
 * RFC 2253 escapes (`\,`, `\"`, `\+`). Turning Node's text into HAProxy's lets a served chain be compared with a
 * source's without asking HAProxy to dump key material. Names whose strings are not UTF-8 (a BMPString, say) print
 * differently in the two; such a chain is then seen as different and deployed once more, never served wrongly.
 */
export function haproxyDistinguishedName(nodeName: string): string {
  const entries: string[] = [];
  for (const line of nodeName.split('\n')) {
    if (line === '') continue;
    entries.push(...splitUnescaped(line, ' + ').map(unescapeRfc2253));
  }
  return entries.map((entry) => `/${entry}`).join('');
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    if (text[index] === '\\') {
      index += 1;
      continue;
    }
    if (text.startsWith(separator, index)) {
      parts.push(text.slice(start, index));
      start = index + separator.length;
      index = start - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unescapeRfc2253(text: string): string {
  return text.replace(/\\([0-9A-Fa-f]{2}|.)/g, (_match, escaped: string) =>
    escaped.length === 2 ? String.fromCharCode(parseInt(escaped, 16)) : escaped,
  );
}
