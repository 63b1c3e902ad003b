// The steady load (steady-load.ts) from inside a network namespace, where the test process cannot
// send: asks each name once (the cache warm), prints READY, then sends 2,000 UDP queries a second
// and one TCP query every 50 ms until SIGINT; then waits for late answers and prints one JSON line.
// Usage: bun steady-load-runner.ts HOST PORT NAMES [PATTERN]   (PATTERN: "%" is the name's number,
// default n%.surge.example.)
import { startSteadyLoad } from "./steady-load";
import { query, sleep } from "./dns";

const [host, portText, namesText, pattern = "n%.surge.example."] = process.argv.slice(2);
const port = Number(portText);
const names = Number(namesText);
const name = (i: number) => pattern.replace("%", String(i % names));

for (let i = 0; i < names; i++) {
  for (let attempt = 0; ; attempt++) {
    try { await query(host, port, name(i), "A", { timeoutMs: 1000 }); break; } catch (e) { if (attempt >= 20) throw e; await sleep(100); }
  }
}
const load = await startSteadyLoad(port, name, host);
const tcp: Promise<string>[] = [];
const ticker = setInterval(() => { tcp.push(query(host, port, name(tcp.length), "A", { tcp: true, timeoutMs: 5000 }).then((a) => a.rcode!, (e) => String(e))); }, 50);
console.log("READY");
process.on("SIGINT", async () => {
  load.stop();
  clearInterval(ticker);
  for (let i = 0; i < 60 && load.answered.size < load.sent; i++) await sleep(50);
  const tcpResults = await Promise.all(tcp);
  const lost = load.lostIds();
  console.log(JSON.stringify({
    sent: load.sent, answered: load.answered.size, lost: lost.length, lostIds: lost.slice(0, 20), clientDrops: load.clientDrops(),
    tcp: tcpResults.length, tcpFailed: tcpResults.filter((r) => r !== "NOERROR").slice(0, 10),
  }));
  load.close();
  process.exit(0);
});
