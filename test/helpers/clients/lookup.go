// Go's resolver as a client: GODEBUG=netdns=go (the pure-Go stub) or netdns=cgo (getaddrinfo).
// Same arguments and output as lookup.c: pairs of OP NAME, one JSON line per lookup.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"
)

type result struct {
	Op     string   `json:"op"`
	Name   string   `json:"name"`
	Ok     bool     `json:"ok"`
	Result []string `json:"result,omitempty"`
	Error  string   `json:"error,omitempty"`
	Ms     float64  `json:"ms"`
}

// Names come back fully qualified ("x."); lookup.c prints them without the dot.
func bare(s string) string { return strings.TrimSuffix(s, ".") }

func classify(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return "NOTFOUND"
		case de.IsTimeout:
			return "TIMEOUT"
		}
		return "DNSERROR:" + de.Err
	}
	return "OTHER:" + err.Error()
}

func lookup(r *net.Resolver, op, name string) ([]string, error) {
	ctx := context.Background()
	switch op {
	case "host", "host4", "host6":
		network := map[string]string{"host": "ip", "host4": "ip4", "host6": "ip6"}[op]
		ips, err := r.LookupIP(ctx, network, name)
		out := make([]string, 0, len(ips))
		for _, ip := range ips {
			out = append(out, ip.String())
		}
		return out, err
	case "ptr":
		names, err := r.LookupAddr(ctx, name)
		out := make([]string, 0, len(names))
		for _, n := range names {
			out = append(out, bare(n))
		}
		return out, err
	case "srv":
		_, srvs, err := r.LookupSRV(ctx, "", "", name)
		out := make([]string, 0, len(srvs))
		for _, s := range srvs {
			out = append(out, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, bare(s.Target)))
		}
		return out, err
	}
	return nil, fmt.Errorf("unknown op %s", op)
}

func main() {
	r := net.DefaultResolver
	enc := json.NewEncoder(os.Stdout)
	args := os.Args[1:]
	for i := 0; i+1 < len(args); i += 2 {
		op, name := args[i], args[i+1]
		t0 := time.Now()
		items, err := lookup(r, op, name)
		res := result{Op: op, Name: name, Ms: float64(time.Since(t0).Microseconds()) / 1000}
		if err != nil {
			res.Error = classify(err)
		} else {
			sort.Strings(items)
			uniq := items[:0]
			for k, s := range items {
				if k == 0 || s != items[k-1] {
					uniq = append(uniq, s)
				}
			}
			res.Ok, res.Result = true, uniq
		}
		enc.Encode(res)
	}
}
