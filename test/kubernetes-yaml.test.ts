// The manifest's YAML writer against an independent YAML reader (the `yaml` package), read both as
// YAML 1.2 and as YAML 1.1 (Kubernetes' reader), so every value comes back exactly as it went in.
import { test, expect } from "bun:test";
import YAML from "yaml";
import { toYaml, toYamlDocuments, type YamlValue } from "../src/kubernetes/yaml";

function readBack(text: string, version: "1.1" | "1.2"): unknown[] {
  const docs = YAML.parseAllDocuments(text, { version });
  for (const d of docs) if (d.errors.length) throw new Error(`${d.errors[0].message}\n${text}`);
  return docs.map((d) => d.toJS());
}

const TRICKY_STRINGS = [
  "", " ", "yes", "No", "ON", "off", "y", "n", "true", "False", "null", "~", "NULL", "1", "0x1F", "0o17", "017",
  "1e3", "1_000", "1:20", "190:20:30", ".inf", "-.inf", ".NaN", "- a", "-", "a: b", "a:", ":a", "a #b", "#a",
  "'q'", "\"q\"", "[a]", "{a}", "*ref", "&anchor", "!tag", "%dir", "@at", "`tick`", "|", ">", "?", ",",
  "a\tb", "line1\nline2\n", "trailing\n\n", "no final newline\nx", " leading space\nx\n", "\n", "\r\n",
  "nel\u0085x", "ls\u2028x", "bom\ufeffx", "del\x7fx", "\x00nul", "é ü 日本", "emoji 🙂\n", "lone \ud800 surrogate",
  "localhost/localdns:0.1.0", "prometheus.io/scrape", "169.254.10.11:53", "system-node-critical", "<<", "=",
];

test("tricky strings, as keys and as values, read back unchanged in YAML 1.2 and 1.1", () => {
  for (const s of TRICKY_STRINGS) {
    const doc: YamlValue = { value: s, list: [s, { inner: s }], [s === "" ? "empty-key" : s]: "k" };
    const text = toYaml(doc);
    for (const version of ["1.2", "1.1"] as const) expect(readBack(text, version)).toEqual([doc]);
  }
});

test("numbers, booleans, null, empty collections and nested lists keep their types", () => {
  const doc: YamlValue = {
    port: 53, negative: -1, fraction: 0.5, big: 2 ** 31 - 1, on: true, off: false, nothing: null,
    emptyMap: {}, emptyList: [], nested: [[1, 2], [], [{ a: [] }]], listOfMaps: [{ a: 1, b: { c: "d" } }, {}],
  };
  for (const version of ["1.2", "1.1"] as const) expect(readBack(toYaml(doc), version)).toEqual([doc]);
});

test("multi-line text is a literal block that reads back byte for byte", () => {
  const config = JSON.stringify({ listeners: { kubeDNS: ["169.254.10.11:53", "service:kube-dns"] }, a: "x: y # z" }, null, 2) + "\n";
  const text = toYaml({ data: { "localdns.json": config } });
  expect(text).toContain("localdns.json: |\n    {\n");
  for (const version of ["1.2", "1.1"] as const) expect(readBack(text, version)).toEqual([{ data: { "localdns.json": config } }]);
});

test("undefined fields are left out; non-finite numbers are refused", () => {
  expect(readBack(toYaml({ a: 1, b: undefined }), "1.2")).toEqual([{ a: 1 }]);
  expect(() => toYaml({ a: NaN })).toThrow("not a finite number");
  expect(() => toYaml({ a: Infinity })).toThrow("not a finite number");
});

test("a document stream: every document reads back in order", () => {
  const docs: YamlValue[] = [{ kind: "A" }, { kind: "B", list: ["x"] }, {}];
  const text = toYamlDocuments(docs);
  expect(text.startsWith("---\n")).toBe(true);
  for (const version of ["1.2", "1.1"] as const) expect(readBack(text, version)).toEqual(docs);
});

test("random strings from YAML's special characters read back unchanged (5,000 cases)", () => {
  const alphabet = ["a", "Z", "0", "9", " ", "\t", "\n", ":", "-", "#", "'", "\"", "\\", "|", ">", "&", "*", "!", "%", "@", "`", "{", "}", "[", "]", ",", "?", ".", "~", "=", "<", "\u0085", "\u2028", "é", "\x01", "\x7f"];
  let seed = 12345;
  const next = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  for (let i = 0; i < 5000; i++) {
    let s = "";
    const len = next() % 12;
    for (let k = 0; k < len; k++) s += alphabet[next() % alphabet.length];
    const doc: YamlValue = { [s || "k"]: [s, { s }] };
    const text = toYaml(doc);
    for (const version of ["1.2", "1.1"] as const) {
      const back = readBack(text, version);
      if (JSON.stringify(back) !== JSON.stringify([doc])) throw new Error(`${JSON.stringify(s)} read back as ${JSON.stringify(back)} (YAML ${version}):\n${text}`);
    }
  }
});
