// Entry point of the single binary: CLI dispatch, config loading, signals.
import { parseArgs } from "./cli";
import { VERSION } from "./version";
import { detectRuntime } from "./runtime/index";
import type { Runtime } from "./runtime/types";
import { createLogger } from "./log";
import { LogOutput } from "./log-output";
import { loadConfigText, buildConfig, embeddedDefault, type BuildResult, type EffectiveConfig } from "./config/effective";
import { pathKind } from "./config/path-kind";
import { CONFIG_FILE_MAX_BYTES } from "./config/limits";
import { Appliance } from "./appliance";
import { SystemdNotifier } from "./notify";
import { prepareProcReads } from "./net/proc-file";
import { listenersHeldElsewhere } from "./net/listener-holders";

function loadConfig(rt: Runtime, path: string | null, given: { resolveUpstreams?: boolean; readMachine?: boolean } = {}): BuildResult {
  const read = (p: string, maxBytes: number) => rt.readTextFile(p, maxBytes);
  const opts = { ...given, env: (name: string) => rt.env(name), pathKind }; // env: "service:NAME" endpoints (Kubernetes)
  if (path === null) return buildConfig(embeddedDefault((p) => pathKind(p) !== "missing"), read, opts);
  let text: string;
  try { text = read(path, CONFIG_FILE_MAX_BYTES); } catch (e) { return { ok: false, errors: [`${path}: cannot read: ${(e as Error).message}`] }; }
  return loadConfigText(text, read, opts);
}

// The `run` log's output; lines still on their way are written before the process exits.
let output: LogOutput | null = null;

async function main(): Promise<number> {
  const rt = await detectRuntime();
  const parsed = parseArgs(rt.args());
  switch (parsed.kind) {
    case "help": process.stdout.write(parsed.text); return 0;
    case "version": process.stdout.write(`localdns ${VERSION} (${rt.name} ${rt.version})\n`); return 0;
    case "error": process.stderr.write(`localdns: ${parsed.message}\n\n${parsed.usage}`); return 2;
  }
  if (parsed.kind === "kubernetes") return (await import("./kubernetes/command")).runKubernetesCommand(parsed, rt);
  if (parsed.kind === "status") return (await import("./status")).runStatus(parsed, (name) => rt.env(name));
  const path = parsed.config ?? rt.env("LOCALDNS_CONFIG") ?? null;
  if (parsed.kind === "socket-unit") {
    const r = loadConfig(rt, path, { resolveUpstreams: false });
    if (!r.ok) { for (const e of r.errors) process.stderr.write(`${path ?? "(embedded default)"}: ${e}\n`); return 1; }
    process.stdout.write((await import("./node/socket-unit")).socketUnit(r.config, parsed.bin));
    return 0;
  }
  if (parsed.kind === "network") {
    const r = loadConfig(rt, path, { resolveUpstreams: false });
    if (!r.ok) {
      for (const e of r.errors) process.stderr.write(`${path ?? "(embedded default)"}: ${e}\n`);
      // teardown must still happen: it works from its own state file and the rules' comments
      if (parsed.action !== "down" && parsed.action !== "release") return 1;
    }
    const { runNetworkStep } = await import("./node/network");
    return runNetworkStep(parsed.action, r.ok ? r.config : null, { dryRun: parsed.dryRun, log: createLogger() });
  }
  if (parsed.kind === "validate") {
    if (path === null) { process.stderr.write("localdns validate: --config FILE (or LOCALDNS_CONFIG) is required\n"); return 2; }
    // the config alone, unless asked to read this machine's resolv.conf files (and the other files it names)
    const r = loadConfig(rt, path, { readMachine: parsed.checkUpstreams === true });
    if (!r.ok) { for (const e of r.errors) process.stderr.write(`${path}: ${e}\n`); return 1; }
    for (const w of r.warnings) process.stderr.write(`${path}: warning: ${w}\n`);
    process.stdout.write("ok\n");
    return 0;
  }
  output = new LogOutput((data, done) => rt.writeStdout(data, done));
  const log = createLogger((line) => output!.write(line), "info", { full: () => output!.full });
  // run --network: the node set-up around serving, in this process (a container has no systemd)
  const net = parsed.network ? new (await import("./node/pod-network")).PodNetwork(log) : null;
  // /proc/net tells who else holds our listeners (takeover, pod mode); Deno reads it through libc
  await prepareProcReads();
  const r = loadConfig(rt, path);
  if (!r.ok) {
    net?.clearLeftovers(); // no interception while nobody may be listening
    for (const e of r.errors) log.error("invalid config", { file: path ?? "(embedded default)", problem: e });
    if (path === null) log.error("the embedded default has no server to forward to: write a config file with upstreams.VnetDNS and upstreams.ClusterCoreDNS (e.g. [\"10.0.0.10\"]) and start with --config FILE or LOCALDNS_CONFIG=FILE");
    return 1;
  }
  for (const w of r.warnings) log.warn("config warning", { problem: w });
  // Whoever serves the listeners owns the node set-up: while a running localdns holds them (the one
  // this start takes over, or one a mistaken second start would collide with), leave it alone.
  const heldElsewhere = (c: EffectiveConfig, own: number) => listenersHeldElsewhere(c, own).length > 0;
  if (net && heldElsewhere(r.config, 0)) log.info("a running localdns holds the listeners: its node set-up stays as it is");
  else net?.clearLeftovers();
  if (r.config.mode === "Disabled") {
    log.info("mode is Disabled: not serving", { file: path });
    // Under systemd (Type=notify, Restart=always) exiting would restart us every second: report
    // ready, keep the watchdog fed and idle until stopped. Outside systemd, just exit.
    const notifier = new SystemdNotifier(rt, log);
    if (!notifier.enabled && !net) return 0; // a container would be restarted: idle as well
    notifier.ready("mode Disabled: not serving DNS");
    const usec = Number(rt.env("WATCHDOG_USEC") ?? 0);
    // the timer also keeps the event loop up: signal handlers alone do not (a container would exit)
    const pet = setInterval(() => { if (usec > 0) rt.notify("WATCHDOG=1"); }, usec > 0 ? Math.max(100, usec / 2000) : 3_600_000);
    await new Promise<void>((resolve) => { rt.onSignal("SIGTERM", resolve); rt.onSignal("SIGINT", resolve); });
    clearInterval(pet);
    notifier.stopping();
    return 0;
  }
  // Last line of defence: a bug hit by one packet must not take DNS down for the node (a restart loop
  // would be a denial of service). Log it, loudly, and keep serving.
  let lastCrashLog = 0;
  const survive = (kind: string) => (e: unknown) => {
    const now = Date.now();
    if (now - lastCrashLog < 1000) return;
    lastCrashLog = now;
    log.error("internal error survived", { kind, error: (e as Error)?.stack ?? String(e) });
  };
  process.on("uncaughtException", survive("uncaughtException"));
  process.on("unhandledRejection", survive("unhandledRejection"));
  const notifier = new SystemdNotifier(rt, log);
  let app: Appliance;
  // a stop asked for while starting (the listeners may already answer) is kept for when start ends
  let stopSignal: ((sig: string) => void) | null = null;
  let early: string | null = null;
  const onStop = (sig: string) => { if (stopSignal) stopSignal(sig); else early ??= sig; };
  rt.onSignal("SIGTERM", () => onStop("SIGTERM"));
  rt.onSignal("SIGINT", () => onStop("SIGINT"));
  try {
    net?.addAddresses(r.config);
    app = await Appliance.start({ runtime: rt, config: r.config, log, version: VERSION, takeover: parsed.takeover === true, reloadSource: () => loadConfig(rt, path) });
  } catch (e) {
    log.error("start failed", { error: (e as Error).message });
    if (net && !heldElsewhere(r.config, 0)) net.removeAddresses();
    return 1;
  }
  net?.intercept();
  notifier.ready(`serving on ${app.listeners.length} listener(s)`);
  await notifier.startWatchdog(app);
  await new Promise<void>((resolve) => {
    let stopping = false;
    // `leaving`: a newer instance took the listeners over; it needs the node set-up as it is. A stop
    // signal while a newer one has joined the listeners (it is taking over) is a hand-over too.
    const stop = (sig: string, leaving = false) => {
      if (stopping) return;
      stopping = true;
      const handOver = leaving || heldElsewhere(app.config, app.config.server.workers); // ours: one per loop
      log.info(leaving ? "taken over by a newer localdns, leaving" : "signal received, shutting down", { signal: sig, ...(handOver && !leaving ? { handOver: "a newer localdns holds the listeners" } : {}) });
      notifier.stopping();
      notifier.stop();
      if (!handOver) net?.release();
      const done = () => {
        // the last one out takes the set-up down: not while another process still holds the listeners
        if (net && !heldElsewhere(app.config, 0)) { if (handOver) net.release(); net.removeAddresses(); }
        if (!leaving || !parsed.stayAfterLeave) { resolve(); return; }
        // a container restarted now would fight the newer instance for the listeners: stay, idle,
        // holding nothing, until the kubelet stops this pod
        log.info("left: idle until SIGTERM (--stay-after-leave)");
        const keepAlive = setInterval(() => {}, 3_600_000); // nothing else keeps the event loop up now
        stopSignal = (s) => { clearInterval(keepAlive); log.info("signal received after leaving, exiting", { signal: s }); resolve(); };
      };
      app.stop(undefined, handOver).then(done, done);
    };
    app.onLeave = () => stop("POST /leave", true);
    stopSignal = stop;
    if (early) stop(early);
    rt.onSignal("SIGHUP", () => {
      log.info("signal received, reloading config", { signal: "SIGHUP", file: path ?? "(embedded default)" });
      notifier.reloading();
      void app.reloadFromSource().finally(() => notifier.ready("reloaded"));
    });
  });
  return 0;
}

main().then(async (code) => { await output?.drain(1000); process.exit(code); }, (e) => {
  process.stderr.write(`localdns: fatal: ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
