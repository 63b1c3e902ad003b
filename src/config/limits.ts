// What one running process can hold. `validate` checks a config against these, so a file it accepts
// is one `run` (and every reload) can apply in full. The core's own limits are tested against the
// compiled core in test/config-limits.test.ts.

import { CoreLimits, MAX_THREADS } from "../core-abi";

/** Zones of both listener sets together (assembly/zones.ts MAX_ZONES). */
export const CORE_MAX_ZONES = CoreLimits.ZONES;
/** Name rules of both listener sets together (assembly/zones.ts MAX_RULES); each set's health-check
 * rule takes one, the rest are for nxdomainRules. */
export const CORE_MAX_RULES = CoreLimits.RULES;
export const HEALTH_RULES = 2;

/** cache.maxBytes: the core's smallest table, and the most that leaves room for the rest inside the
 * unit's MemoryMax=128M. Measured (bench/snapshot-rss.ts): the process idles at ~47 MB and a full
 * cache adds about its size (32 MiB full: ~84 MB; 64 MiB full: ~117 MB, too close to 128); 48 MiB
 * full is ~100 MB, leaving ~28 MB for TCP clients, in-flight queries and logs. */
export const CACHE_MIN_BYTES = 1 << 20;
export const CACHE_MAX_BYTES = 48 << 20;

/** Files we read are regular files no larger than these (checked before a byte is read). */
export const CONFIG_FILE_MAX_BYTES = 1 << 20;
export const RESOLV_CONF_MAX_BYTES = 64 << 10;
/** The hosts overlay holds 1 MiB of pre-built answers; a larger file could never fit. */
export const HOSTS_FILE_MAX_BYTES = 1 << 20;
/** Addresses kept per name and family; the rest are dropped (and logged). 64 A records fill a
 * 1,232-octet UDP answer; more would only ever be truncated. */
export const HOSTS_MAX_ADDRESSES_PER_NAME = 64;
/** Answers the hosts overlay holds (assembly/layout.ts HOSTS_SLOTS / 2): an A and an AAAA per name
 * and a PTR per address. Parsing stops once a file has more. */
export const HOSTS_MAX_ANSWERS = 2048;
/** A snapshot larger than this is not read (a full cache of CACHE_MAX_BYTES writes less). */
export const SNAPSHOT_MAX_BYTES = 2 * CACHE_MAX_BYTES;

/** server.workers: UDP loop threads. Each holds one of the core's MAX_THREADS (9) scratch sets, the
 * main thread one more, and a reload starts the new loops beside the old: 2 × 4 + 1 = 9. */
export const MAX_UDP_WORKERS = (MAX_THREADS - 1) >> 1;
