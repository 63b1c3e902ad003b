// Node as a client, run by node itself (not Bun): MODE "lookup" is dns.lookup / dns.lookupService
// (getaddrinfo in libuv's thread pool, so glibc underneath), MODE "cares" is dns.Resolver (c-ares, its
// own resolv.conf reader and TCP fallback). Then pairs of OP NAME as in lookup.c; same output.
import dns from "node:dns";

const [mode, ...args] = process.argv.slice(2);
const resolver = new dns.promises.Resolver();
const bare = (s) => s.replace(/\.$/, "");

const ops = {
  lookup: {
    host: async (n) => (await dns.promises.lookup(n, { all: true, family: 0 })).map((a) => a.address),
    host4: async (n) => (await dns.promises.lookup(n, { all: true, family: 4 })).map((a) => a.address),
    host6: async (n) => (await dns.promises.lookup(n, { all: true, family: 6 })).map((a) => a.address),
    ptr: async (a) => [(await dns.promises.lookupService(a, 80)).hostname],
  },
  cares: {
    host: async (n) => {
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(n), resolver.resolve6(n)]);
      if (v4.status === "rejected" && v6.status === "rejected") throw v4.reason;
      return [...(v4.value ?? []), ...(v6.value ?? [])];
    },
    host4: (n) => resolver.resolve4(n),
    host6: (n) => resolver.resolve6(n),
    ptr: async (a) => (await resolver.reverse(a)).map(bare),
    srv: async (n) => (await resolver.resolveSrv(n)).map((s) => `${s.priority} ${s.weight} ${s.port} ${bare(s.name)}`),
  },
};

const table = ops[mode];
if (!table) { console.error(`unknown mode ${mode}`); process.exit(2); }
for (let i = 0; i + 1 < args.length; i += 2) {
  const [op, name] = [args[i], args[i + 1]];
  const t0 = performance.now();
  const out = { op, name };
  try {
    if (!table[op]) throw Object.assign(new Error(`unknown op ${op}`), { code: "BADOP" });
    out.result = [...new Set(await table[op](name))].sort();
    out.ok = true;
  } catch (e) {
    out.ok = false;
    out.error = e.code ?? String(e);
  }
  out.ms = Math.round((performance.now() - t0) * 10) / 10;
  console.log(JSON.stringify(out));
}
