// The config file's JSON reader. JSON.parse cannot do what an operator needs from a config error: its
// messages differ per runtime and carry no line or column, and it keeps the last of two equal keys
// without a word. This one follows RFC 8259, accepts a leading UTF-8 BOM, and reports a syntax
// error with its line and column, and every duplicate key with its path and line.
import { formatPath } from "./path";

/** Deeper than any config is (five levels): a bound so hostile input cannot exhaust the stack. */
export const JSON_MAX_DEPTH = 64;

export type JsonResult = { ok: true; value: unknown } | { ok: false; errors: string[] };

class SyntaxProblem extends Error {
  constructor(readonly at: number, message: string) { super(message); }
}

/** Line and column (both from 1) of a character offset; `starts` are the offsets lines start at. */
function position(starts: number[], at: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (starts[mid] <= at) lo = mid; else hi = mid - 1; }
  return { line: lo + 1, column: at - starts[lo] + 1 };
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

const describe = (c: string | undefined) => (c === undefined ? "the end of the file" : JSON.stringify(c));

export function parseConfigJson(input: string): JsonResult {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input; // a BOM some editors write
  let i = 0;
  let starts: number[] | null = null; // computed once, when the first line number is needed
  const where = (at: number) => position(starts ??= lineStarts(text), at);
  const duplicates: string[] = [];

  const fail = (message: string, at = i): never => { throw new SyntaxProblem(at, message); };
  const skipSpace = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const expectWord = (word: string, value: unknown) => {
    if (text.startsWith(word, i)) { i += word.length; return value; }
    return fail(`unexpected ${describe(text[i])}`);
  };

  function readString(): string {
    const start = i;
    i++; // the opening quote
    let out = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) fail("unterminated string", start);
      if (c === '"') { i++; return out; }
      if (c < " ") fail("control character in a string (write it as an escape such as \\n)");
      if (c !== "\\") { out += c; i++; continue; }
      const e = text[i + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e !== undefined && e in simple) { out += simple[e]; i += 2; continue; }
      if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) { out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)); i += 6; continue; }
      fail(`invalid escape ${describe("\\" + (e ?? ""))} in a string`);
    }
  }

  function readNumber(): number {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail(`unexpected ${describe(text[i])}`);
    i += m[0].length;
    return Number(m[0]);
  }

  function readValue(path: (string | number)[]): unknown {
    skipSpace();
    const c = text[i];
    if ((c === "{" || c === "[") && path.length >= JSON_MAX_DEPTH) fail(`nested deeper than ${JSON_MAX_DEPTH} levels`);
    if (c === "{") return readObject(path);
    if (c === "[") return readArray(path);
    if (c === '"') return readString();
    if (c === "t") return expectWord("true", true);
    if (c === "f") return expectWord("false", false);
    if (c === "n") return expectWord("null", null);
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return readNumber();
    return fail(c === undefined ? "unexpected end of the file" : `unexpected ${describe(c)}`);
  }

  function readObject(path: (string | number)[]): Record<string, unknown> {
    i++;
    const obj: Record<string, unknown> = {};
    skipSpace();
    if (text[i] === "}") { i++; return obj; }
    for (;;) {
      skipSpace();
      if (text[i] !== '"') fail(`expected a key in double quotes, got ${describe(text[i])}`);
      const keyAt = i;
      const key = readString();
      skipSpace();
      if (text[i] !== ":") fail(`expected ":" after the key ${JSON.stringify(key)}, got ${describe(text[i])}`);
      i++;
      const value = readValue([...path, key]);
      if (Object.prototype.hasOwnProperty.call(obj, key)) {
        duplicates.push(`${formatPath([...path, key])}: duplicate key (again on line ${where(keyAt).line}); give each key once`);
      }
      // defineProperty: a key named "__proto__" becomes a plain property, as with JSON.parse
      Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      skipSpace();
      if (text[i] === ",") { i++; continue; }
      if (text[i] === "}") { i++; return obj; }
      fail(`expected "," or "}" after a value in an object, got ${describe(text[i])}`);
    }
  }

  function readArray(path: (string | number)[]): unknown[] {
    i++;
    const list: unknown[] = [];
    skipSpace();
    if (text[i] === "]") { i++; return list; }
    for (;;) {
      list.push(readValue([...path, list.length]));
      skipSpace();
      if (text[i] === ",") { i++; continue; }
      if (text[i] === "]") { i++; return list; }
      fail(`expected "," or "]" after a value in an array, got ${describe(text[i])}`);
    }
  }

  try {
    const value = readValue([]);
    skipSpace();
    if (i < text.length) fail(`unexpected ${describe(text[i])} after the end of the JSON value`);
    if (duplicates.length) return { ok: false, errors: duplicates };
    return { ok: true, value };
  } catch (e) {
    if (!(e instanceof SyntaxProblem)) throw e;
    const { line, column } = where(e.at);
    return { ok: false, errors: [`(file): not valid JSON: line ${line}, column ${column}: ${e.message}`] };
  }
}
