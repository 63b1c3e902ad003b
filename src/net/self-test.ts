// Start-up self-test of the FFI data path: the layouts and libc calls the loop uses, checked against
// the kernel on a loopback socket pair. Any surprise is a reason to serve through the runtime's own
// UDP sockets instead.
import type { LibcNet } from "./libc-net";
import { lastError } from "./libc-net";
import type { NetLayout } from "./layout";
import { MessageVectors, epollEvent } from "./message-vectors";
import { EFD_CLOEXEC, EFD_NONBLOCK, EPOLLIN, EPOLL_CLOEXEC, EPOLL_CTL_ADD, MSG_DONTWAIT, MSG_TRUNC } from "./constants";
import { createUdpSocket } from "./udp-socket";
import { formatSockaddr } from "./sockaddr";

export type SelfTestResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const SLOT = 256;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function selfTest(lib: LibcNet, layout: NetLayout): SelfTestResult {
  const fds: number[] = [];
  try {
    return check(lib, layout, fds);
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  } finally {
    for (const fd of fds) lib.close(fd);
  }
}

function check(lib: LibcNet, layout: NetLayout, fds: number[]): SelfTestResult {
  const server = createUdpSocket(lib, { host: "127.0.0.1", port: 0 }, { receiveBuffer: 0 });
  fds.push(server.fd);
  const client = createUdpSocket(lib, { host: "127.0.0.1", port: 0 }, { receiveBuffer: 0 });
  fds.push(client.fd);
  if (server.port === 0 || client.port === 0) return { ok: false, reason: "getsockname gave port 0 after bind" };

  // two datagrams in one sendmmsg from the client: one fits a slot, one is longer (MSG_TRUNC)
  const memory = new SharedArrayBuffer(4 * SLOT);
  const bytes = new Uint8Array(memory);
  const base = lib.address(bytes);
  const out = new MessageVectors(lib, layout, 2, (i) => base + 2 * SLOT + i * SLOT, SLOT, 1);
  const small = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
  bytes.set(small, 2 * SLOT);
  bytes.fill(0xab, 3 * SLOT, 4 * SLOT);
  // point both send entries at the server: the "source" slots of `out` hold the destination
  out.bytes.set(server.local, out.namesAt);
  out.bytes.set(server.local, out.namesAt + 32);
  out.view.setUint32(out.recvAt + layout.msghdr.namelen, server.local.length, true);
  out.view.setUint32(out.recvAt + layout.mmsghdr.size + layout.msghdr.namelen, server.local.length, true);
  out.setSend(0, 0, small.length);
  out.setSend(1, 1, SLOT);
  const sent = lib.sendmmsg(client.fd, out.sendPtrs[0], 2, MSG_DONTWAIT);
  if (sent !== 2) return { ok: false, reason: `sendmmsg sent ${sent} of 2: ${lastError(lib)}` };

  // receive into slots of 150 bytes: the 100-byte datagram fits, the 256-byte one is truncated
  const inn = new MessageVectors(lib, layout, 2, (i) => base + i * 150, 150, 2);
  const ep = lib.epollCreate1(EPOLL_CLOEXEC);
  if (ep < 0) return { ok: false, reason: `epoll_create1: ${lastError(lib)}` };
  fds.push(ep);
  if (lib.epollCtl(ep, EPOLL_CTL_ADD, server.fd, epollEvent(layout, EPOLLIN, 0x5eed)) !== 0) return { ok: false, reason: `epoll_ctl: ${lastError(lib)}` };
  const k = lib.epollWait(ep, inn.eventsPtr, 2, 2000);
  if (k !== 1 || inn.eventTag(0) !== 0x5eed || (inn.eventMask(0) & EPOLLIN) === 0) {
    return { ok: false, reason: `epoll_wait gave ${k} events, tag 0x${inn.eventTag(0).toString(16)} (epoll_event layout)` };
  }
  const n = lib.recvmmsg(server.fd, inn.recvPtr, 2, MSG_DONTWAIT);
  if (n !== 2) return { ok: false, reason: `recvmmsg got ${n} of 2: ${lastError(lib)}` };
  if (inn.receivedLength(0) !== 100 || inn.receivedLength(1) !== 150) {
    return { ok: false, reason: `recvmmsg lengths ${inn.receivedLength(0)}, ${inn.receivedLength(1)} (want 100, 150)` };
  }
  if ((inn.receivedFlags(0) & MSG_TRUNC) !== 0 || (inn.receivedFlags(1) & MSG_TRUNC) === 0) {
    return { ok: false, reason: `msg_flags 0x${inn.receivedFlags(0).toString(16)}, 0x${inn.receivedFlags(1).toString(16)} (want MSG_TRUNC on the second only)` };
  }
  if (!equalBytes(bytes.subarray(0, 100), small) || bytes[150] !== 0xab || bytes[299] !== 0xab) return { ok: false, reason: "received bytes differ from the sent ones" };
  for (let i = 0; i < 2; i++) {
    if (!equalBytes(inn.source(i), client.local)) return { ok: false, reason: `source ${formatSockaddr(inn.source(i))}, want ${formatSockaddr(client.local)}` };
  }

  // eventfd: a write wakes epoll, a read returns the counter
  const efd = lib.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return { ok: false, reason: `eventfd: ${lastError(lib)}` };
  fds.push(efd);
  const counter = new Uint8Array(8);
  counter[0] = 3;
  if (lib.write(efd, counter, 8) !== 8) return { ok: false, reason: `eventfd write: ${lastError(lib)}` };
  counter.fill(0);
  if (lib.read(efd, counter, 8) !== 8 || counter[0] !== 3) return { ok: false, reason: `eventfd read gave ${counter[0]}` };
  return { ok: true };
}
