// Picks the runtime adapter by feature detection.
import type { Runtime } from "./types";

declare const Bun: unknown;

export async function detectRuntime(): Promise<Runtime> {
  if (typeof Bun !== "undefined") return (await import("./bun")).bunRuntime;
  throw new Error("unsupported runtime: localdns runs on Bun (Deno support: see README)");
}
