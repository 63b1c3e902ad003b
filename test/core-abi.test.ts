// src/core-abi.ts is generated from the packet core's sources (build/core-abi.ts): it must be current.
import { test, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { renderAbi, ABI_PATH } from "../build/core-abi";

test("the committed core ABI matches what the AssemblyScript sources define (run bun build/core-abi.ts)", () => {
  expect(readFileSync(ABI_PATH, "utf8")).toBe(renderAbi());
});
