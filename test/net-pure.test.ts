// Pure parts of src/net: the platform decision, LISTEN_FDS parsing, sockaddr bytes, slot regions.
import { describe, test, expect } from "bun:test";
import { decideFfi, platformFacts } from "../src/net/platform";
import { parseListenFds, LISTEN_FDS_MAX } from "../src/net/socket-activation";
import { encodeSockaddr, decodeSockaddr, formatSockaddr, sockaddrMatches } from "../src/net/sockaddr";
import { planSlotRegion, checkSlotRegion, slotRegionBytes, MAX_SLOTS } from "../src/net/slots";
import { layoutFor } from "../src/net/layout";

describe("platform decision", () => {
  const glibc = { os: "linux", arch: "x64", libc: "glibc" as const, disabledBy: null };
  test("glibc x86_64 and arm64 are served, with their own epoll_event layout", () => {
    const x = decideFfi(glibc), a = decideFfi({ ...glibc, arch: "arm64" });
    expect(x.ok && x.layout.epollEvent).toEqual({ size: 12, events: 0, data: 4 });
    expect(a.ok && a.layout.epollEvent).toEqual({ size: 16, events: 0, data: 8 });
  });
  test("everything else falls back, with the reason", () => {
    expect(decideFfi({ ...glibc, libc: "musl" })).toEqual({ ok: false, reason: "libc is musl, not glibc" });
    expect(decideFfi({ ...glibc, arch: "riscv64" })).toEqual({ ok: false, reason: "no verified struct layouts for riscv64" });
    expect(decideFfi({ ...glibc, os: "darwin" })).toEqual({ ok: false, reason: "darwin is not Linux" });
    expect(decideFfi({ ...glibc, disabledBy: "--no-ffi" })).toEqual({ ok: false, reason: "switched off by --no-ffi" });
  });
  test("--no-ffi and LOCALDNS_NO_FFI switch it off; this process is glibc Linux", () => {
    const env = (v?: string) => (n: string) => (n === "LOCALDNS_NO_FFI" ? v : undefined);
    expect(platformFacts(env(), ["run", "--no-ffi"]).disabledBy).toBe("--no-ffi");
    expect(platformFacts(env("1"), []).disabledBy).toBe("LOCALDNS_NO_FFI");
    expect(platformFacts(env("0"), []).disabledBy).toBeNull();
    expect(platformFacts(env(""), []).disabledBy).toBeNull();
    expect(platformFacts(env(), [])).toEqual({ os: "linux", arch: process.arch, libc: "glibc", disabledBy: null });
  });
  test("layouts are known for x64 and arm64 only", () => {
    expect(layoutFor("x64")?.mmsghdr).toEqual({ size: 64, len: 56 });
    expect(layoutFor("ia32")).toBeNull();
  });
});

describe("LISTEN_FDS", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  test("fds from 3 with their names, for our pid only", () => {
    expect(parseListenFds(env({ LISTEN_PID: "42", LISTEN_FDS: "2", LISTEN_FDNAMES: "dns:dns-tcp" }), 42))
      .toEqual({ ok: true, fds: [{ fd: 3, name: "dns" }, { fd: 4, name: "dns-tcp" }] });
    expect(parseListenFds(env({ LISTEN_PID: "41", LISTEN_FDS: "2" }), 42)).toEqual({ ok: true, fds: [] });
    expect(parseListenFds(env({ LISTEN_FDS: "1" }), 42)).toEqual({ ok: true, fds: [{ fd: 3, name: "unknown" }] });
    expect(parseListenFds(env({}), 42)).toEqual({ ok: true, fds: [] });
    expect(parseListenFds(env({ LISTEN_FDS: "0", LISTEN_PID: "42" }), 42)).toEqual({ ok: true, fds: [] });
  });
  test("malformed values are errors with the reason, and the count is bounded", () => {
    expect(parseListenFds(env({ LISTEN_FDS: "two" }), 1)).toEqual({ ok: false, reason: 'LISTEN_FDS "two" is not a count' });
    expect(parseListenFds(env({ LISTEN_FDS: "-1" }), 1)).toEqual({ ok: false, reason: 'LISTEN_FDS "-1" is not a count' });
    expect(parseListenFds(env({ LISTEN_FDS: "1", LISTEN_PID: "x" }), 1)).toEqual({ ok: false, reason: 'LISTEN_PID "x" is not a pid' });
    expect(parseListenFds(env({ LISTEN_FDS: "2", LISTEN_FDNAMES: "a" }), 1)).toEqual({ ok: false, reason: "LISTEN_FDNAMES has 1 names for 2 fds" });
    expect(parseListenFds(env({ LISTEN_FDS: String(LISTEN_FDS_MAX + 1) }), 1)).toEqual({ ok: false, reason: `LISTEN_FDS ${LISTEN_FDS_MAX + 1} is more than ${LISTEN_FDS_MAX}` });
    expect(parseListenFds(env({ LISTEN_FDS: "99999999999999" }), 1).ok).toBe(false);
  });
});

describe("sockaddr", () => {
  test("IPv4 and IPv6 bytes and back", () => {
    const v4 = encodeSockaddr("10.96.0.10", 53);
    expect([...v4]).toEqual([2, 0, 0, 53, 10, 96, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(decodeSockaddr(v4)).toEqual({ family: 4, host: "10.96.0.10", port: 53 });
    const v6 = encodeSockaddr("fd00::a:0:0:1", 5353);
    expect(v6.length).toBe(28);
    expect(formatSockaddr(v6)).toBe("[fd00::a:0:0:1]:5353");
    expect(formatSockaddr(encodeSockaddr("fd00:0:0:a::1", 1))).toBe("[fd00:0:0:a::1]:1");
    expect(formatSockaddr(encodeSockaddr("::1", 1))).toBe("[::1]:1");
    expect(formatSockaddr(encodeSockaddr("::", 1))).toBe("[::]:1");
    expect(formatSockaddr(encodeSockaddr("1:2:3:4:5:6:7:8", 1))).toBe("[1:2:3:4:5:6:7:8]:1");
    expect(formatSockaddr(new Uint8Array([1, 0]))).toBe("(address family 1)");
  });
  test("matching compares family, address and port", () => {
    const sa = encodeSockaddr("127.0.0.1", 53);
    expect(sockaddrMatches(sa, { host: "127.0.0.1", port: 53 })).toBe(true);
    expect(sockaddrMatches(sa, { host: "127.0.0.2", port: 53 })).toBe(false);
    expect(sockaddrMatches(sa, { host: "127.0.0.1", port: 54 })).toBe(false);
    expect(sockaddrMatches(sa, { host: "::ffff:127.0.0.1", port: 53 })).toBe(false);
    expect(sockaddrMatches(sa, { host: "not-an-ip", port: 53 })).toBe(false);
  });
});

describe("slot regions", () => {
  test("planned regions fit and are checked", () => {
    const mem = new SharedArrayBuffer(slotRegionBytes(64, 1232) + 100);
    const r = planSlotRegion(mem, 64, 1232, 100);
    expect(r).toMatchObject({ metaOffset: 104, dataOffset: 104 + 64 * 16, count: 64, slotSize: 1232 });
    expect(() => planSlotRegion(mem, MAX_SLOTS + 1, 16)).toThrow(`slot count ${MAX_SLOTS + 1} is not 1..${MAX_SLOTS}`);
    expect(() => planSlotRegion(mem, 4, 70000)).toThrow("slot size 70000 is not 12..65535");
    expect(() => checkSlotRegion({ memory: mem, metaOffset: 0, dataOffset: 32, count: 4, slotSize: 64 })).toThrow("slot meta table and slot data overlap");
    expect(() => checkSlotRegion({ memory: mem, metaOffset: 2, dataOffset: 4096, count: 4, slotSize: 64 })).toThrow("meta offset 2 is not a 4-aligned offset");
  });
});
