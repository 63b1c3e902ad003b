// The config file's JSON reader: line and column for syntax errors, duplicate keys, a BOM, bounds;
// on valid JSON it must agree with JSON.parse.
import { test, expect, describe } from "bun:test";
import { parseConfigJson, JSON_MAX_DEPTH } from "../src/config/json-text";
import { loadConfigText } from "../src/config/effective";

const noFiles = (p: string): string => { throw new Error(`no ${p}`); };
const errors = (text: string) => { const r = parseConfigJson(text); return r.ok ? [] : r.errors; };

describe("syntax errors name the line and column", () => {
  test.each([
    ['{\n  "mode": "Required",\n  "cache": }', "line 3, column 12: unexpected \"}\""],
    ['{ "mode": "Required" ', "line 1, column 22: expected \",\" or \"}\" after a value in an object, got the end of the file"],
    ['{\n\t"a": 1,\n}', "line 3, column 1: expected a key in double quotes, got \"}\""],
    ['{ mode: 1 }', "line 1, column 3: expected a key in double quotes, got \"m\""],
    ['{ "a": "one\ntwo" }', "line 1, column 12: control character in a string (write it as an escape such as \\n)"],
    ['{ "a": "\\x" }', "line 1, column 9: invalid escape \"\\\\x\" in a string"],
    ['{ "a": "open', "line 1, column 8: unterminated string"],
    ['{ "a": [1, 2 }', "line 1, column 14: expected \",\" or \"]\" after a value in an array, got \"}\""],
    ['{ "a": tru }', "line 1, column 8: unexpected \"t\""],
    ['{ "a": 01 }', "line 1, column 9: expected \",\" or \"}\" after a value in an object, got \"1\""],
    ['{} {}', "line 1, column 4: unexpected \"{\" after the end of the JSON value"],
    ["", "line 1, column 1: unexpected end of the file"],
    ["\r\n\r\n  x", "line 3, column 3: unexpected \"x\""],
  ])("%j", (text, message) => {
    expect(errors(text)).toEqual([`(file): not valid JSON: ${message}`]);
  });
});

test("duplicate keys are errors, each with its path and line", () => {
  const text = '{\n  "mode": "Required",\n  "cache": { "prefetch": true,\n    "prefetch": false },\n  "mode": "Disabled"\n}';
  expect(errors(text)).toEqual([
    "cache.prefetch: duplicate key (again on line 4); give each key once",
    "mode: duplicate key (again on line 5); give each key once",
  ]);
  expect(loadConfigText('{"upstreams":{"VnetDNS":["127.0.0.9"],"VnetDNS":["127.0.0.8"]}}', noFiles)).toEqual({
    ok: false, errors: ["upstreams.VnetDNS: duplicate key (again on line 1); give each key once"],
  });
});

test("a UTF-8 BOM before the JSON is accepted", () => {
  const r = loadConfigText('\uFEFF{ "upstreams": { "VnetDNS": ["127.0.0.9"] } }', noFiles);
  expect(r.ok && r.config.upstreams.VnetDNS).toEqual([{ host: "127.0.0.9", port: 53, family: 4 }]);
  expect(errors('\uFEFF{\n x')).toEqual(['(file): not valid JSON: line 2, column 2: expected a key in double quotes, got "x"']);
});

test("top-level null, arrays and scalars: the config must be a JSON object", () => {
  for (const text of ["null", "[]", "[{}]", "\"x\"", "3"]) {
    expect(loadConfigText(text, noFiles)).toEqual({ ok: false, errors: ["(top level): the config must be a JSON object"] });
  }
});

test(`nesting is bounded at ${JSON_MAX_DEPTH} levels (no stack exhaustion on hostile input)`, () => {
  expect(parseConfigJson("[".repeat(JSON_MAX_DEPTH) + "]".repeat(JSON_MAX_DEPTH)).ok).toBe(true);
  const deep = "[".repeat(JSON_MAX_DEPTH + 1) + "]".repeat(JSON_MAX_DEPTH + 1);
  expect(errors(deep)).toEqual([`(file): not valid JSON: line 1, column ${JSON_MAX_DEPTH + 1}: nested deeper than ${JSON_MAX_DEPTH} levels`]);
  expect(errors("[".repeat(1_000_000))[0]).toMatch(/nested deeper than 64 levels/);
});

test("valid JSON reads as JSON.parse reads it", () => {
  const samples = [
    '{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
    '{"n":[0,-0,1.5,-2e3,1E+2,12345678901234567890]}',
    '{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 ünï"}',
    ' \t\r\n{ "x" : [ ] , "y" : { } } \n',
    '{"__proto__":{"polluted":1},"constructor":2}',
  ];
  for (const s of samples) {
    const r = parseConfigJson(s);
    expect(r.ok).toBe(true);
    expect(r.ok && r.value).toEqual(JSON.parse(s));
  }
  const r = parseConfigJson('{"__proto__":{"polluted":1}}');
  expect(r.ok && Object.getPrototypeOf(r.value)).toBe(Object.prototype); // a plain key, no prototype change
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
