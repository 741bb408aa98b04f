import { createServer, type Server } from 'node:http';
import type { WatchState } from '../../sources/source.js';
import type { DaemonMetrics } from './daemon-metrics.js';

export interface Health {
  /** Targets that do not answer or cannot be deployed to. */
  readonly downTargets: readonly string[];
  /** How the source is followed: polling (the kernel refused file watches) is said, but is not unhealthy. */
  readonly watch: WatchState;
}

/**
 * `/metrics` (Prometheus text), `/livez`: 200 while the daemon's event loop answers (a container HEALTHCHECK: a
 * restart helps only a stuck daemon), and `/healthz`: 200 while the daemon's event loop answers and every target can be
 * deployed to, 503 naming the targets that cannot. Certificate expiry is deliberately not part of health: a
 * restart does not renew a certificate; alert on hotcert_certificate_not_after_seconds instead.
 */
export class MetricsServer {
  private server: Server | undefined;

  constructor(
    private readonly metrics: DaemonMetrics,
    private readonly health: () => Health,
  ) {}

  /** @returns the address it listens on (the port is the kernel's when 0 was asked for). */
  async listen(listen: string): Promise<string> {
    const colon = listen.lastIndexOf(':');
    const host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(listen.slice(colon + 1));
    this.server = createServer((request, response) => {
      if (request.url === '/metrics') {
        this.metrics.registry.metrics().then(
          (body) => {
            response.writeHead(200, { 'content-type': this.metrics.registry.contentType });
            response.end(body);
          },
          (error: unknown) => {
            response.writeHead(500, { 'content-type': 'text/plain' });
            response.end(`cannot collect metrics: ${(error as Error).message}\n`);
          },
        );
        return;
      }
      if (request.url === '/livez') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('ok\n');
        return;
      }
      if (request.url === '/healthz') {
        const { downTargets, watch } = this.health();
        const lines = [
          downTargets.length === 0 ? 'ok' : `targets down: ${downTargets.join(', ')}`,
          ...(watch.kind === 'polling' ? [`degraded: the source is polled every ${watch.pollMs / 1000} s, not watched: ${watch.reason}`] : []),
        ];
        response.writeHead(downTargets.length === 0 ? 200 : 503, { 'content-type': 'text/plain' });
        response.end(`${lines.join('\n')}\n`);
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found: try /metrics, /healthz or /livez\n');
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address ? `${address.address}:${address.port}` : listen;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
