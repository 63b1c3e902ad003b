// Struct layouts the kernel reads and writes, per architecture (64-bit glibc). Everything that differs
// between x86_64 and arm64 lives here; the self-test (self-test.ts) checks them against the kernel.
export interface NetLayout {
  readonly arch: "x64" | "arm64";
  /** struct msghdr: msg_name, msg_namelen, msg_iov, msg_iovlen, msg_control, msg_controllen, msg_flags */
  readonly msghdr: { name: number; namelen: number; iov: number; iovlen: number; control: number; controllen: number; flags: number };
  /** struct mmsghdr: a msghdr followed by msg_len, padded to 8 */
  readonly mmsghdr: { size: number; len: number };
  /** struct iovec: iov_base, iov_len */
  readonly iovec: { size: number; base: number; len: number };
  /** struct epoll_event: packed (12 bytes) on x86_64 only, 16 on arm64 */
  readonly epollEvent: { size: number; events: number; data: number };
  /** struct sock_fprog (cBPF program): len u16 then a pointer; struct sock_filter is 8 bytes everywhere */
  readonly sockFprog: { size: number; len: number; filter: number };
}

const LP64_MSGHDR = { name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48 };

const X64: NetLayout = {
  arch: "x64",
  msghdr: LP64_MSGHDR,
  mmsghdr: { size: 64, len: 56 },
  iovec: { size: 16, base: 0, len: 8 },
  epollEvent: { size: 12, events: 0, data: 4 },
  sockFprog: { size: 16, len: 0, filter: 8 },
};

const ARM64: NetLayout = { ...X64, arch: "arm64", epollEvent: { size: 16, events: 0, data: 8 } };

/** The layout for a Node-style process.arch name, or null where none is known. */
export function layoutFor(arch: string): NetLayout | null {
  if (arch === "x64") return X64;
  if (arch === "arm64") return ARM64;
  return null;
}

/** Writes a user-space address (below 2^53, as every x86_64/arm64 user address is) as a little-endian u64. */
export function writePointer(view: DataView, offset: number, address: number): void {
  view.setUint32(offset, address % 0x1_0000_0000, true);
  view.setUint32(offset + 4, Math.floor(address / 0x1_0000_0000), true);
}
