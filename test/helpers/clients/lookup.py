# dnspython's stub resolver as a client (it reads /etc/resolv.conf: nameserver, search, ndots).
# Same arguments and output as lookup.c: pairs of OP NAME, one JSON line per lookup. "raw:TYPE NAME"
# asks one message (dns.query, TCP after TC=1) and prints its rcode, then "owner TYPE" for each answer
# RRset and "additional owner TYPE" for each additional one (OPT aside).
import json
import sys
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename

resolver = dns.resolver.Resolver()


def bare(name):
    return name.to_text().rstrip(".")


def addresses(name, types):
    found, missing = [], 0
    for t in types:
        try:
            found += [r.address for r in resolver.resolve(name, t, search=True)]
        except dns.resolver.NoAnswer:
            missing += 1
    if missing == len(types):
        raise dns.resolver.NoAnswer()
    return found


def lookup(op, name):
    if op == "host":
        return addresses(name, ["A", "AAAA"])
    if op == "host4":
        return addresses(name, ["A"])
    if op == "host6":
        return addresses(name, ["AAAA"])
    if op == "ptr":
        return [bare(r.target) for r in resolver.resolve(dns.reversename.from_address(name), "PTR")]
    if op == "srv":
        return [f"{r.priority} {r.weight} {r.port} {bare(r.target)}" for r in resolver.resolve(name, "SRV", search=True)]
    if op.startswith("raw:"):
        # also how a client asks ANY: the Resolver class refuses meta-queries
        q = dns.message.make_query(name, op[4:])
        r, _ = dns.query.udp_with_fallback(q, resolver.nameservers[0], timeout=5)
        rrsets = [f"{bare(s.name)} {dns.rdatatype.to_text(s.rdtype)}" for s in r.answer]
        rrsets += [f"additional {bare(s.name)} {dns.rdatatype.to_text(s.rdtype)}" for s in r.additional]
        return [dns.rcode.to_text(r.rcode())] + rrsets
    raise ValueError(f"unknown op {op}")


def classify(err):
    if isinstance(err, dns.resolver.NXDOMAIN):
        return "NXDOMAIN"
    if isinstance(err, dns.resolver.NoAnswer):
        return "NOANSWER"
    if isinstance(err, dns.resolver.LifetimeTimeout):
        return "TIMEOUT"
    if isinstance(err, dns.resolver.NoNameservers):
        return "NONAMESERVERS"
    return type(err).__name__


args = sys.argv[1:]
for i in range(0, len(args) - 1, 2):
    op, name = args[i], args[i + 1]
    t0 = time.monotonic()
    out = {"op": op, "name": name}
    try:
        items = lookup(op, name)
        # "raw:" keeps the rcode first; everything else is a set
        out.update(ok=True, result=items[:1] + sorted(set(items[1:])) if op.startswith("raw:") else sorted(set(items)))
    except Exception as e:  # every failure is reported, never raised
        out.update(ok=False, error=classify(e))
    out["ms"] = round((time.monotonic() - t0) * 1000, 1)
    print(json.dumps(out), flush=True)
