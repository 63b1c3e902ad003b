// Picks the runtime adapter by feature detection.
import type { Runtime } from "./types";

declare const Bun: unknown;
declare const Deno: unknown;

export async function detectRuntime(): Promise<Runtime> {
  if (typeof Bun !== "undefined") return (await import("./bun")).bunRuntime;
  if (typeof Deno !== "undefined") return (await import("./deno")).denoRuntime;
  throw new Error("unsupported runtime: localdns runs on Bun or Deno");
}
