// Linux socket, epoll and eventfd constants. x86_64 and arm64 both take these from asm-generic, so
// one table serves both (other architectures, e.g. mips or sparc, differ: the platform check refuses them).
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;

export const SOL_SOCKET = 1;
export const SO_TYPE = 3;
export const SO_RCVBUF = 8;
export const SO_REUSEPORT = 15;
export const SO_RCVBUFFORCE = 33;
export const SO_ATTACH_REUSEPORT_CBPF = 51;
export const SO_DETACH_REUSEPORT_BPF = 68;

export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IP_FREEBIND = 15;
export const IPV6_V6ONLY = 26;
export const IPV6_FREEBIND = 78;

export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;

export const EPOLLIN = 0x1;
/** wake one of the epoll instances watching the fd, not all (loops sharing one socket) */
export const EPOLLEXCLUSIVE = 1 << 28;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CLOEXEC = 0x80000;
export const EFD_CLOEXEC = 0x80000;
export const EFD_NONBLOCK = 0x800;

export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const ECONNREFUSED = 111;
export const EADDRINUSE = 98;

/** Room for any source address the loop keeps: sizeof(struct sockaddr_in6). */
export const SOCKADDR_MAX = 28;

// open(2) flags (the same on x86-64 and aarch64)
export const O_RDONLY = 0;
export const O_CLOEXEC = 0o2000000;
export const SO_ACCEPTCONN = 30;
