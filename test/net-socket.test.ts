// FFI-owned UDP sockets: create, adopt, options read back, and clear errors for bad inputs.
import { describe, test, expect, beforeAll, afterEach } from "bun:test";
import { openSync, closeSync, readFileSync, readdirSync } from "node:fs";
import { openFfiNet } from "../src/net/ffi-net";
import type { LibcNet } from "../src/net/libc-net";
import type { NetLayout } from "../src/net/layout";
import { selfTest } from "../src/net/self-test";
import { createUdpSocket, adoptUdpSocket, DEFAULT_RCVBUF } from "../src/net/udp-socket";
import { getIntOption } from "../src/net/sockopt";
import { matchActivatedFds } from "../src/net/socket-activation";
import { AF_INET, IPPROTO_IPV6, IPV6_V6ONLY, SOCK_CLOEXEC, SOCK_STREAM, SOL_SOCKET, SO_ACCEPTCONN, SO_REUSEPORT, SO_TYPE } from "../src/net/constants";
import { readWithLibc } from "../src/net/proc-file";
import { findOwnTcpListener, steerToOwnTcpListener, unsteerOwnTcpListener } from "../src/net/own-tcp-listener";
import { encodeSockaddr } from "../src/net/sockaddr";
import { boundUdpSocketCount, steerReuseportGroup, unsteerReuseportGroup } from "../src/net/reuseport-steer";

let lib: LibcNet, layout: NetLayout;
const fds: number[] = [];
beforeAll(async () => {
  const net = await openFfiNet(() => undefined, []);
  if (!net.ok) throw new Error(`FFI unavailable here: ${net.reason}`);
  ({ lib, layout } = net);
});
afterEach(() => { for (const fd of fds.splice(0)) lib.close(fd); });
const keep = <T extends { fd: number }>(s: T): T => { fds.push(s.fd); return s; };
const openFds = () => readdirSync("/proc/self/fd").length;

test("the start-up self-test passes on this machine", () => {
  expect(selfTest(lib, layout)).toEqual({ ok: true });
});

test("the self-test leaves no fd behind", () => {
  // by fd number: other threads of the runtime may close fds of their own meanwhile; none may appear
  const fdSet = () => new Set(readdirSync("/proc/self/fd"));
  const before = fdSet();
  for (let i = 0; i < 20; i++) selfTest(lib, layout);
  expect([...fdSet()].filter((fd) => !before.has(fd))).toEqual([]);
});

describe("create", () => {
  test("IPv4: bound, port reported, receive buffer 4 MiB asked for", () => {
    const s = keep(createUdpSocket(lib, { host: "127.0.0.1", port: 0 }));
    expect(s.port).toBeGreaterThan(0);
    expect(s.local.length).toBe(16);
    expect(s.adopted).toBe(false);
    // the kernel doubles what it grants; SO_RCVBUFFORCE (root here or not) passes rmem_max, SO_RCVBUF is capped by it
    const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
    if (s.receiveBufferMode === "force") expect(s.receiveBuffer).toBe(2 * DEFAULT_RCVBUF);
    else expect(s.receiveBuffer).toBe(2 * Math.min(DEFAULT_RCVBUF, rmemMax));
    expect(process.getuid?.() === 0 ? s.receiveBufferMode : "force").toBe("force");
  });

  test("an explicit receive buffer size is what SO_RCVBUF reads back (doubled)", () => {
    const s = keep(createUdpSocket(lib, { host: "127.0.0.1", port: 0 }, { receiveBuffer: 1 << 20 }));
    expect(s.receiveBuffer).toBe(2 << 20);
    const d = keep(createUdpSocket(lib, { host: "127.0.0.1", port: 0 }, { receiveBuffer: 0 }));
    expect(d.receiveBufferMode).toBe("default");
    expect(d.receiveBuffer).toBe(Number(readFileSync("/proc/sys/net/core/rmem_default", "utf8")));
  });

  test("IPv6: ::1, IPv6 only, SO_REUSEPORT on when asked", () => {
    const s = keep(createUdpSocket(lib, { host: "::1", port: 0 }, { reusePort: true }));
    expect(s.local.length).toBe(28);
    expect(getIntOption(lib, s.fd, IPPROTO_IPV6, IPV6_V6ONLY)).toBe(1);
    expect(getIntOption(lib, s.fd, SOL_SOCKET, SO_REUSEPORT)).toBe(1);
    const t = keep(createUdpSocket(lib, { host: "::1", port: s.port }, { reusePort: true }));
    expect(t.port).toBe(s.port);
  });

  test("bad inputs give clear errors and leak no fd", () => {
    const before = openFds();
    expect(() => createUdpSocket(lib, { host: "localhost", port: 53 })).toThrow('"localhost" is not an IPv4 or IPv6 address');
    expect(() => createUdpSocket(lib, { host: "127.0.0.1", port: 70000 })).toThrow("port 70000 is not 0..65535");
    expect(() => createUdpSocket(lib, { host: "192.0.2.1", port: 0 })).toThrow(/^bind 192\.0\.2\.1:0: Cannot assign requested address \(errno 99\)$/);
    const s = keep(createUdpSocket(lib, { host: "127.0.0.1", port: 0 }));
    expect(() => createUdpSocket(lib, { host: "127.0.0.1", port: s.port })).toThrow(/Address already in use/);
    expect(openFds()).toBe(before + 1);
  });

  test("IP_FREEBIND binds an address the node does not have (nothing is sent)", () => {
    const s = keep(createUdpSocket(lib, { host: "192.0.2.1", port: 0 }, { freeBind: true }));
    expect(s.port).toBeGreaterThan(0);
  });
});

describe("adopt", () => {
  test("an inherited UDP socket bound to the endpoint is taken as it is", () => {
    const s = keep(createUdpSocket(lib, { host: "127.0.0.1", port: 0 }, { receiveBuffer: 1 << 20 }));
    const a = adoptUdpSocket(lib, s.fd, { host: "127.0.0.1", port: s.port });
    expect(a).toMatchObject({ fd: s.fd, port: s.port, adopted: true, receiveBufferMode: "inherited", receiveBuffer: 2 << 20 });
  });

  test("a TCP socket, a wrong address, a file and a closed fd are refused with the reason", () => {
    const s = keep(createUdpSocket(lib, { host: "127.0.0.1", port: 0 }));
    const tcp = lib.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fds.push(tcp);
    expect(() => adoptUdpSocket(lib, tcp, { host: "127.0.0.1", port: s.port })).toThrow(`inherited fd ${tcp} is not a datagram socket (SO_TYPE 1)`);
    expect(() => adoptUdpSocket(lib, s.fd, { host: "127.0.0.2", port: s.port })).toThrow(`inherited fd ${s.fd} is bound to 127.0.0.1:${s.port}, not 127.0.0.2:${s.port}`);
    expect(() => adoptUdpSocket(lib, s.fd, { host: "::1", port: s.port })).toThrow(/is bound to 127\.0\.0\.1/);
    const file = openSync("/proc/self/status", "r");
    try {
      expect(() => adoptUdpSocket(lib, file, { host: "127.0.0.1", port: 53 })).toThrow(`inherited fd ${file} is not a socket: Socket operation on non-socket (errno 88)`);
    } finally { closeSync(file); }
    expect(() => adoptUdpSocket(lib, 987654, { host: "127.0.0.1", port: 53 })).toThrow("inherited fd 987654 is not a socket: Bad file descriptor (errno 9)");
    // the refused fds are not ours to close: still open
    expect(getIntOption(lib, s.fd, SOL_SOCKET, SO_REUSEPORT)).toBe(0);
  });

  test("activated fds are matched to endpoints by address and type; the rest is reported", () => {
    const udp = keep(createUdpSocket(lib, { host: "127.0.0.1", port: 0 }));
    const tcp = lib.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fds.push(tcp);
    const sa = encodeSockaddr("127.0.0.1", udp.port);
    expect(lib.bind(tcp, sa, sa.length)).toBe(0);
    const other = keep(createUdpSocket(lib, { host: "::1", port: 0 }));
    const m = matchActivatedFds(lib, [{ fd: other.fd, name: "x" }, { fd: tcp, name: "t" }, { fd: udp.fd, name: "u" }, { fd: 987654, name: "gone" }],
      [{ host: "127.0.0.1", port: udp.port }]);
    expect(m.listeners).toEqual([{ endpoint: { host: "127.0.0.1", port: udp.port }, udp: udp.fd, tcp }]);
    expect(m.unmatched).toEqual([
      { fd: other.fd, reason: `udp [::1]:${other.port} is no configured listener` },
      { fd: 987654, reason: "not a socket" },
    ]);
  });
});

describe("reuseport steering", () => {
  test("group size from /proc/net/udp{,6}, attach and detach the steer", () => {
    const a = keep(createUdpSocket(lib, { host: "::1", port: 0 }, { reusePort: true }));
    expect(boundUdpSocketCount({ host: "::1", port: a.port })).toBe(1);
    keep(createUdpSocket(lib, { host: "::1", port: a.port }, { reusePort: true }));
    expect(boundUdpSocketCount({ host: "::1", port: a.port })).toBe(2);
    expect(boundUdpSocketCount({ host: "127.0.0.1", port: a.port })).toBe(0);
    steerReuseportGroup(lib, layout, a.fd, 1);
    unsteerReuseportGroup(lib, a.fd);
    expect(() => steerReuseportGroup(lib, layout, a.fd, -1)).toThrow("reuseport index -1 out of range");
    const lone = keep(createUdpSocket(lib, { host: "127.0.0.1", port: 0 }));
    expect(() => steerReuseportGroup(lib, layout, lone.fd, 0)).toThrow(/^SO_ATTACH_REUSEPORT_CBPF: /);
  });
});

describe("takeover helpers", () => {
  test("/proc/net through libc reads what the runtime's fs reads (Deno's path); a missing file names errno", () => {
    const header = (t: string) => t.split("\n")[0].trim();
    expect(header(readWithLibc(lib, "/proc/net/udp"))).toBe(header(readFileSync("/proc/net/udp", "utf8")));
    expect(header(readWithLibc(lib, "/proc/net/tcp6"))).toMatch(/^sl\s+local_address\s+remote_address/);
    expect(() => readWithLibc(lib, "/proc/net/no-such-table")).toThrow(/^open \/proc\/net\/no-such-table: .*\(errno 2\)$/);
  });

  test("the runtime's own TCP listener is found by its address (not the UDP socket on the same port), steered to and back", async () => {
    // SO_REUSEPORT as the runtime adapters listen (a steer needs a reuseport group)
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket: { data() {} } } as unknown as Parameters<typeof Bun.listen>[0]) as unknown as { port: number; stop(closeActive: boolean): void };
    try {
      const ep = { host: "127.0.0.1", port: server.port, family: 4 as const };
      keep(createUdpSocket(lib, ep, { reusePort: true }));
      const fd = findOwnTcpListener(lib, ep);
      expect(fd).not.toBeNull();
      expect([getIntOption(lib, fd!, SOL_SOCKET, SO_TYPE), getIntOption(lib, fd!, SOL_SOCKET, SO_ACCEPTCONN)]).toEqual([SOCK_STREAM, 1]);
      expect(findOwnTcpListener(lib, { ...ep, host: "127.0.0.2" })).toBeNull();
      expect(findOwnTcpListener(lib, ep, 3)).toBeNull(); // the search stops at its limit
      const s = steerToOwnTcpListener(lib, layout, ep, 0);
      expect(s.fd).toBe(fd!);
      unsteerOwnTcpListener(lib, s);
      expect(() => steerToOwnTcpListener(lib, layout, { ...ep, port: ep.port === 65535 ? 65534 : ep.port + 1 }, 0)).toThrow("the runtime's TCP listener is not among this process's sockets");
    } finally { server.stop(true); }
  });
});
