import { RuntimeAddressError } from '../errors.js';
import { parseRuntimeAddress, type RuntimeAddress } from '../haproxy/runtime-address.js';

/**
 * How a target's runtime API is reached: a socket hotcert connects to itself (unix or TCP), or, for a container
 * target, a TCP socket on the container's own address (looked up on every connect), or `docker exec` of a client
 * inside the container that connects to a unix socket there.
 */
export type TargetRuntime =
  | RuntimeAddress
  | { readonly kind: 'container-tcp'; readonly port: number }
  | { readonly kind: 'exec'; readonly path: string };

/**
 * Parses `unix:/path`, `tcp:HOST:PORT`, `container-tcp:PORT` or `exec:/path/in/the/container`.
 * @throws RuntimeAddressError naming what is wrong with the text.
 */
export function parseTargetRuntime(text: string): TargetRuntime {
  if (text.startsWith('container-tcp:')) {
    const port = Number(text.slice('container-tcp:'.length));
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RuntimeAddressError(`"${text}": expected container-tcp:PORT with a port from 1 to 65535`);
    }
    return { kind: 'container-tcp', port };
  }
  if (text.startsWith('exec:')) {
    const path = text.slice('exec:'.length);
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(path)) {
      throw new RuntimeAddressError(`"${text}": expected exec:/absolute/path/of/the/socket/in/the/container`);
    }
    return { kind: 'exec', path };
  }
  if (text.startsWith('unix:') || text.startsWith('tcp:')) return parseRuntimeAddress(text);
  throw new RuntimeAddressError(`"${text}": expected unix:/path/to/socket, tcp:HOST:PORT, container-tcp:PORT or exec:/path/in/the/container`);
}

export function formatTargetRuntime(runtime: TargetRuntime): string {
  if (runtime.kind === 'container-tcp') return `container-tcp:${runtime.port}`;
  if (runtime.kind === 'exec') return `exec:${runtime.path}`;
  if (runtime.kind === 'unix') return `unix:${runtime.path}`;
  return runtime.host.includes(':') ? `tcp:[${runtime.host}]:${runtime.port}` : `tcp:${runtime.host}:${runtime.port}`;
}
