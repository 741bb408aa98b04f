import { connect } from 'node:tls';
import type { TargetConfig } from '../../config/schema.js';
import { DockerError, ReloadFallbackError } from '../../errors.js';
import type { Logger } from '../../observe/log/create-logger.js';
import { Field } from '../../observe/log/fields.js';
import { containerAddress } from '../../targets/container-targets.js';
import type { DockerApi } from './docker-api.js';

/** How long after its first request a reload waits for other lineages' files, so one signal covers them all. */
const GATHER_MS = 250;

/**
 * The opt-in last resort for a container whose runtime API cannot be used: hotcert's files are already written,
 * and the container gets its reload signal (master-worker HAProxy reloads on SIGUSR2 and SIGHUP; reference/docker.md
 * §2.5), once for every lineage that asked within a short window. What it serves is then read by a TLS handshake.
 */
export class ReloadFallback {
  private readonly pending = new Map<string, Promise<void>>();
  private readonly sentAt = new Map<string, number>();

  constructor(
    private readonly docker: DockerApi,
    private readonly log: Logger,
  ) {}

  /** Sends the target's container its reload signal (shared with other lineages asking at the same time). */
  reload(target: TargetConfig): Promise<void> {
    const container = containerOf(target);
    const signal = target.docker?.reloadFallback?.signal ?? 'SIGUSR2';
    let sending = this.pending.get(container);
    if (!sending) {
      sending = (async () => {
        await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
        this.pending.delete(container);
        this.sentAt.set(container, Date.now());
        this.log.warn('reload fallback: the runtime API cannot be used, so the container is reloaded to load the new files', {
          [Field.target]: target.name,
          [Field.container]: container,
          [Field.signal]: signal,
        });
        await this.docker.kill(container, signal);
      })();
      this.pending.set(container, sending);
    }
    return sending;
  }

  /** Whether hotcert itself signalled this container lately (its `kill` event is then not someone else's reload). */
  sentRecently(container: string, withinMs = 10_000): boolean {
    const at = this.sentAt.get(container);
    return at !== undefined && Date.now() - at < withinMs;
  }

  /**
   * The SHA-1 of the leaf the container serves for `servername` (upper-case hex, as HAProxy prints it), by a TLS
   * handshake on its address at the fallback's tlsPort.
   * @throws DockerError when the container has no address, or the handshake fails.
   */
  async servedLeafSha1(target: TargetConfig, servername: string): Promise<string> {
    const container = containerOf(target);
    const port = target.docker?.reloadFallback?.tlsPort as number;
    const info = await this.docker.running(container);
    const host = containerAddress(info, target.docker?.network);
    if (!host) throw new DockerError(`container ${container} has no address to check what it serves`, { container });
    return handshakeLeafSha1(host, port, servername, 5000);
  }
}

/** The container does not serve the certificate after its reload, within the fallback's timeout. */
export function notServedError(target: TargetConfig, servername: string, seen: string, leafSha1: string): ReloadFallbackError {
  return new ReloadFallbackError(`target ${target.name}: after the reload the container serves ${seen} for ${servername}, not the leaf with SHA-1 ${leafSha1}`, { target: target.name });
}

function containerOf(target: TargetConfig): string {
  const container = target.docker?.container;
  if (container === undefined) throw new Error(`target ${target.name} is not a container`);
  return container;
}

function handshakeLeafSha1(host: string, port: number, servername: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // Only the presented certificate is read: trust is not what is being checked.
    const socket = connect({ host, port, servername, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DockerError(`TLS handshake with ${host}:${port} (SNI ${servername}) timed out after ${timeoutMs} ms`, { runtime: `${host}:${port}` }));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fingerprint = socket.getPeerCertificate().fingerprint ?? '';
      socket.destroy();
      resolve(fingerprint.replace(/:/g, '').toUpperCase());
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new DockerError(`TLS handshake with ${host}:${port} (SNI ${servername}) failed: ${error.message}`, { runtime: `${host}:${port}` }, { cause: error }));
    });
  });
}
