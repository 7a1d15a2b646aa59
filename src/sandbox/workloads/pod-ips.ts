/**
 * Pod IPs from 10.244.0.0/16, the usual pod range. By default nothing dials them: the mesh maps each
 * back to its loopback server, so they only need to be unique and valid for the API server, which
 * refuses loopback addresses in EndpointSlices. With the pod agent's `bindPodIps` (inside a network
 * namespace that has the range on its loopback) the pods listen on them and a real proxy dials them.
 */
export class PodIpPool {
  private next = 1;
  private readonly free: string[] = [];

  take(): string {
    const reused = this.free.shift();
    if (reused) return reused;
    const n = this.next++;
    if (n > 65_533) throw new Error('pod IP range 10.244.0.0/16 exhausted');
    return `10.244.${n >> 8}.${n & 255}`;
  }

  release(ip: string): void {
    this.free.push(ip);
  }
}
