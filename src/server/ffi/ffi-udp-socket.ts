// A UDP listener of the FFI data path, seen by the rest of the server as a runtime UdpSocket (port,
// counters, close). The loop Workers receive and answer on it; the main thread sends the answers of
// handed-off queries with sendTo, to the binary source address the loop kept. With server.workers > 1
// it has one socket per loop (a SO_REUSEPORT group: the kernel spreads the clients over them), or,
// for a socket systemd passed, one socket every loop reads.
import type { UdpSocket } from "../../runtime/types";
import type { LibcNet } from "../../net/libc-net";
import { encodeSockaddr } from "../../net/sockaddr";
import type { OwnedUdpSocket } from "../../net/udp-socket";
import { ECONNREFUSED, MSG_DONTWAIT, MSG_NOSIGNAL } from "../../net/constants";

export class FfiUdpSocket implements UdpSocket {
  sendFailures = 0;
  private closed = false;

  /** `members`: the sockets of loops 2..N, bound to the same address beside `owned`. */
  constructor(private readonly lib: LibcNet, readonly owned: OwnedUdpSocket, readonly set: number, readonly v6: boolean,
    readonly members: readonly OwnedUdpSocket[] = []) {}

  get fd(): number { return this.owned.fd; }

  /** The socket loop `worker` (0-based) reads: its own, or the one every loop shares. */
  fdFor(worker: number): number { return worker === 0 ? this.owned.fd : (this.members[worker - 1]?.fd ?? this.owned.fd); }

  /** Whether loops beyond the first read this listener's one socket too (then each is woken alone). */
  get shared(): boolean { return this.members.length === 0; }
  get port(): number { return this.owned.port; }
  get hostname(): string { return this.owned.endpoint.host; }

  /** One datagram to a binary source address (as recvmmsg gave it). False when dropped. */
  sendTo(address: Uint8Array, data: Uint8Array): boolean {
    if (this.closed) return false;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.lib.sendto(this.owned.fd, data, data.length, MSG_DONTWAIT | MSG_NOSIGNAL, address, address.length) === data.length) return true;
      if (this.lib.errno() !== ECONNREFUSED) break; // one retry: ECONNREFUSED reported an earlier ICMP error
    }
    this.sendFailures++;
    return false;
  }

  send(data: Uint8Array, port: number, address: string): boolean { return this.sendTo(encodeSockaddr(address, port), data); }

  sendMany(packets: (Uint8Array | number | string)[]): number {
    let sent = 0;
    for (let i = 0; i + 2 < packets.length; i += 3) if (this.send(packets[i] as Uint8Array, packets[i + 1] as number, packets[i + 2] as string)) sent++;
    return sent;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lib.close(this.owned.fd);
    for (const m of this.members) this.lib.close(m.fd);
  }
}
