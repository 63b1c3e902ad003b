// Whether this process may use the FFI data path at all (before the self-test checks it works):
// Linux, an architecture with known layouts, glibc (musl's structs and symbol set are not the ones
// checked), and not switched off by --no-ffi or LOCALDNS_NO_FFI.
import { layoutFor, type NetLayout } from "./layout";

declare const Deno: any;

export interface PlatformFacts {
  readonly os: string;
  readonly arch: string;
  readonly libc: "glibc" | "musl" | "unknown";
  /** why the operator switched it off, or null */
  readonly disabledBy: string | null;
}

export type FfiDecision = { readonly ok: true; readonly layout: NetLayout } | { readonly ok: false; readonly reason: string };

export function decideFfi(facts: PlatformFacts): FfiDecision {
  if (facts.disabledBy) return { ok: false, reason: `switched off by ${facts.disabledBy}` };
  if (facts.os !== "linux") return { ok: false, reason: `${facts.os} is not Linux` };
  const layout = layoutFor(facts.arch);
  if (!layout) return { ok: false, reason: `no verified struct layouts for ${facts.arch}` };
  if (facts.libc !== "glibc") return { ok: false, reason: `libc is ${facts.libc}, not glibc` };
  return { ok: true, layout };
}

/** The runtime's own libc: how the runtime binary was built is what it is linked against. */
function runtimeLibc(): PlatformFacts["libc"] {
  if (typeof Deno !== "undefined") {
    const target: string = Deno.build?.target ?? "";
    return target.endsWith("-linux-gnu") ? "glibc" : target.endsWith("-linux-musl") ? "musl" : "unknown";
  }
  // Bun (as Node) reports the glibc version it runs on; a musl build has none
  const header = (process as any).report?.getReport?.()?.header;
  if (typeof header?.glibcVersionRuntime === "string") return "glibc";
  return header ? "musl" : "unknown";
}

const OFF = new Set(["", "0", "false", "no"]);

/** Facts of this process; `args` are the command-line arguments (for --no-ffi). */
export function platformFacts(env: (name: string) => string | undefined, args: readonly string[]): PlatformFacts {
  const envOff = env("LOCALDNS_NO_FFI");
  const disabledBy = args.includes("--no-ffi") ? "--no-ffi" : envOff !== undefined && !OFF.has(envOff.toLowerCase()) ? "LOCALDNS_NO_FFI" : null;
  const os = typeof Deno !== "undefined" ? Deno.build.os : process.platform;
  const arch = typeof Deno !== "undefined" ? (Deno.build.arch === "x86_64" ? "x64" : Deno.build.arch === "aarch64" ? "arm64" : Deno.build.arch) : process.arch;
  return { os, arch, libc: runtimeLibc(), disabledBy };
}
