import type { TargetConfig } from '../config/schema.js';
import { RuntimeTransportError } from '../errors.js';
import type { RuntimeEndpoint } from '../haproxy/runtime-address.js';
import type { ContainerEvent, ContainerInfo, DockerApi } from '../platform/docker/docker-api.js';

/**
 * The targets to deploy to now: every configured target, where a `docker.label` target stands for each running
 * container that carries the label, named `<target>/<container>`.
 * @throws DockerError when Docker cannot be asked which containers carry a label.
 */
export async function expandTargets(targets: readonly TargetConfig[], docker: DockerApi | undefined): Promise<TargetConfig[]> {
  const expanded: TargetConfig[][] = await Promise.all(
    targets.map(async (target) => {
      const label = target.docker?.label;
      if (label === undefined) return [target];
      if (!docker) throw new Error('a docker.label target needs the Docker API');
      const containers = await docker.listByLabel(label);
      return containers.sort((a, b) => a.name.localeCompare(b.name)).map((container) => containerTarget(target, container.name));
    }),
  );
  return expanded.flat();
}

/** One container of a `docker.label` target, as a target of its own. */
export function containerTarget(group: TargetConfig, containerName: string): TargetConfig {
  const { label: _label, ...docker } = group.docker ?? {};
  const runtime = group.runtime.kind === 'unix' ? { kind: 'unix' as const, path: group.runtime.path.replaceAll('{container}', containerName) } : group.runtime;
  return { ...group, name: `${group.name}/${containerName}`, runtime, docker: { ...docker, container: containerName } };
}

/** Whether a container (by its name, id and labels) is what a configured target selects. */
export function selects(target: TargetConfig, container: { name: string; id: string; labels: Readonly<Record<string, string>> }): boolean {
  const docker = target.docker;
  if (!docker) return false;
  if (docker.container !== undefined) return docker.container === container.name || (docker.container.length >= 12 && container.id.startsWith(docker.container));
  const [key, value] = splitLabel(docker.label as string);
  return key in container.labels && (value === undefined || container.labels[key] === value);
}

/** The concrete targets a container event is about. */
export function targetsOfEvent(targets: readonly TargetConfig[], event: ContainerEvent): TargetConfig[] {
  return targets
    .filter((target) => selects(target, event))
    .map((target) => (target.docker?.label !== undefined ? containerTarget(target, event.name) : target));
}

/**
 * A container's TCP runtime socket, at the address the container has now: Docker gives a restarted container a
 * new one. On a user-defined network the address is only under `NetworkSettings.Networks` (reference/docker.md §2.1).
 */
export function containerTcpEndpoint(docker: DockerApi, container: string, port: number, network: string | undefined): RuntimeEndpoint {
  const address = `container-tcp:${container}:${port}`;
  return {
    address,
    resolve: async () => {
      let info: ContainerInfo;
      try {
        info = await docker.running(container);
      } catch (error) {
        throw new RuntimeTransportError(`cannot reach runtime API ${address}: ${(error as Error).message}`, { runtime: address }, { cause: error });
      }
      const host = containerAddress(info, network);
      if (!host) {
        const where = network !== undefined ? `on network ${network}` : 'on any network';
        throw new RuntimeTransportError(`cannot reach runtime API ${address}: container ${info.name} has no address ${where}`, { runtime: address });
      }
      return { kind: 'tcp', host, port };
    },
  };
}

/** The container's address on `network`, or on its only (first) network: the one others reach it at. */
export function containerAddress(info: ContainerInfo, network: string | undefined): string | undefined {
  return network !== undefined ? info.addresses[network] : Object.values(info.addresses)[0];
}

/** Configured `docker.label` targets that no running container carries (among the expanded `targets`). */
export function labelTargetsWithoutContainers(configured: readonly TargetConfig[], targets: readonly TargetConfig[]): TargetConfig[] {
  return configured.filter((group) => group.docker?.label !== undefined && !targets.some((target) => target.name.startsWith(`${group.name}/`)));
}

function splitLabel(label: string): [string, string | undefined] {
  const equals = label.indexOf('=');
  return equals < 0 ? [label, undefined] : [label.slice(0, equals), label.slice(equals + 1)];
}
