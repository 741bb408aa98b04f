import { RuntimeAddressError } from '../errors.js';

/** Where a target's runtime API listens: HAProxy's `stats socket` as a unix path or a TCP address. */
export type RuntimeAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/**
 * Parses `unix:/run/haproxy/admin.sock`, `tcp:127.0.0.1:9999` or `tcp:[::1]:9999`.
 * @throws RuntimeAddressError naming what is wrong with the text.
 */
export function parseRuntimeAddress(text: string): RuntimeAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (!path.startsWith('/')) {
      throw new RuntimeAddressError(`"${text}": a unix socket path must be absolute (unix:/run/haproxy/admin.sock)`);
    }
    return { kind: 'unix', path };
  }
  if (text.startsWith('tcp:')) {
    const rest = text.slice('tcp:'.length);
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(rest);
    const port = match ? Number(match[3]) : NaN;
    if (!match || port < 1 || port > 65535) {
      throw new RuntimeAddressError(`"${text}": expected tcp:HOST:PORT with a port from 1 to 65535`);
    }
    return { kind: 'tcp', host: (match[1] ?? match[2]) as string, port };
  }
  throw new RuntimeAddressError(`"${text}": expected unix:/path/to/socket or tcp:HOST:PORT`);
}

export function formatRuntimeAddress(address: RuntimeAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `tcp:[${address.host}]:${address.port}` : `tcp:${address.host}:${address.port}`;
}

/**
 * Where a transport connects: a fixed address, or one looked up on every connect (a container's address changes
 * when it restarts).
 */
export interface RuntimeEndpoint {
  /** For messages: `unix:/run/haproxy/admin.sock`, `container-tcp:haproxy:9999`. */
  readonly address: string;
  /** @throws RuntimeTransportError when there is nothing to connect to now. */
  resolve(): Promise<RuntimeAddress>;
}

export function fixedEndpoint(address: RuntimeAddress): RuntimeEndpoint {
  const resolved = Promise.resolve(address);
  return { address: formatRuntimeAddress(address), resolve: () => resolved };
}
