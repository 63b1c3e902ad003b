// The restore gate: misses held while the snapshot is restored, replayed in order when it is done,
// and every bound (time, count, bytes) letting queries through instead of holding them.
import { test, expect } from "bun:test";
import { RestoreGate, MAX_PARKED, MAX_PARKED_BYTES } from "../src/server/restore-gate";

const q = (n: number, len = 40) => new Uint8Array(len).fill(n & 255);

test("not armed: nothing is held", () => {
  const g = new RestoreGate();
  expect(g.holding).toBe(false);
  expect(g.park(q(1), () => {})).toBe(false);
});

test("armed: queries wait and are replayed in arrival order, each with its own copy, when the restore is done", () => {
  const g = new RestoreGate();
  g.arm(10_000);
  const seen: number[] = [];
  const msgs = [q(1), q(2), q(3)];
  for (const m of msgs) expect(g.park(m, (copy) => { expect(copy).not.toBe(m); seen.push(copy[0]); })).toBe(true);
  msgs[0].fill(9); // the caller's buffer is reused: the held copy is not
  expect(seen).toEqual([]);
  g.open();
  expect(seen).toEqual([1, 2, 3]);
  expect(g.holding).toBe(false);
  expect(g.park(q(4), () => {})).toBe(false);
});

test("a replay that throws does not keep the others from running", () => {
  const g = new RestoreGate();
  g.arm(10_000);
  const seen: number[] = [];
  g.park(q(1), () => { throw new Error("boom"); });
  g.park(q(2), (c) => seen.push(c[0]));
  g.open();
  expect(seen).toEqual([2]);
});

test("the hold ends by itself after its time, restore done or not", async () => {
  const g = new RestoreGate();
  g.arm(30);
  let replayed = 0;
  g.park(q(1), () => { replayed++; });
  await new Promise((r) => setTimeout(r, 80));
  expect(replayed).toBe(1);
  expect(g.holding).toBe(false);
});

test("at most MAX_PARKED queries and MAX_PARKED_BYTES bytes wait; the rest go on at once", () => {
  const g = new RestoreGate();
  g.arm(10_000);
  let i = 0;
  while (g.park(q(i, 12), () => {})) i++;
  expect(i).toBe(MAX_PARKED);
  expect(g.park(q(0, 12), () => {})).toBe(false); // still full
  g.open();
  g.arm(10_000);
  let bytes = 0;
  while (g.park(q(0, 4096), () => {})) bytes += 4096;
  expect(bytes).toBe(Math.floor(MAX_PARKED_BYTES / 4096) * 4096);
  g.open();
});
