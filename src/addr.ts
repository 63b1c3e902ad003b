// IP literal → raw bytes (for the health answer).
import { isIP } from "node:net";

export function ipBytes(addr: string): Uint8Array {
  const v4 = addr.startsWith("::ffff:") && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  if (isIP(v4) === 4) return Uint8Array.from(v4.split(".").map(Number));
  if (isIP(addr) !== 6) return new Uint8Array(4);
  const [headText, tailText = ""] = addr.includes("::") ? addr.split("::") : [addr, ""];
  const parse = (t: string) => (t === "" ? [] : t.split(":").map((h) => parseInt(h, 16)));
  const head = parse(headText);
  const tail = parse(tailText);
  const words = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}
