import { connect } from 'node:tls';

export interface ServedCertificate {
  /** Upper-case hex. */
  readonly serial: string;
  readonly subjectAltName: string;
  readonly fingerprint256: string;
}

/** Does a real TLS handshake with SNI `servername` and returns the leaf certificate the server presented. */
export function probeServedCertificate(port: number, servername: string, timeoutMs = 5000, host = '127.0.0.1'): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS handshake with ${host}:${port} (SNI ${servername}) timed out`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      clearTimeout(timer);
      socket.destroy();
      resolve({
        serial: cert.serialNumber.toUpperCase(),
        subjectAltName: cert.subjectaltname ?? '',
        fingerprint256: cert.fingerprint256,
      });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
