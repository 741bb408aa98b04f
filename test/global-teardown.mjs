// Removes every container and image the suites created (all carry the label hotcert.test=1), also after a failure.
import { execFileSync } from 'node:child_process';

export default function removeDockerLeftovers() {
  const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    docker('version', '--format', '{{.Server.Version}}');
  } catch {
    return; // No Docker engine: no suite could have created anything.
  }
  const containers = docker('ps', '-aq', '--filter', 'label=hotcert.test=1').split('\n').filter(Boolean);
  if (containers.length > 0) docker('rm', '-f', '-v', ...containers);
  const images = docker('images', '-q', '--filter', 'label=hotcert.test=1').split('\n').filter(Boolean);
  if (images.length > 0) docker('rmi', '-f', ...new Set(images));
  const networks = docker('network', 'ls', '-q', '--filter', 'label=hotcert.test=1').split('\n').filter(Boolean);
  if (networks.length > 0) docker('network', 'rm', ...networks);
}
