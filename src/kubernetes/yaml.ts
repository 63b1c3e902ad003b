// A YAML writer for the JSON-shaped values a manifest is made of. Output is block style, and a string
// is written plain only where every YAML version reads it back as the same string (Kubernetes' own
// reader is YAML 1.1, where "yes", "on" and "1:20" are not strings); anything else is a JSON string,
// which YAML reads as it is. Multi-line text (the embedded config) is a literal block.
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:@+-]*$/;
const WORDS_YAML_READS_AS_OTHER = new Set(["y", "n", "yes", "no", "true", "false", "on", "off", "null"]);

function plainSafe(s: string): boolean {
  return PLAIN.test(s) && !s.endsWith(":") && !WORDS_YAML_READS_AS_OTHER.has(s.toLowerCase());
}

// printable text only (no control characters but line feeds), the first line not starting with
// whitespace (its indentation sets the block's), ending in a line feed (kept by "|")
const BLOCK = /^[^\s\x00-\x1f\x7f-\x9f][^\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]*\n$/;
// JSON leaves these raw; YAML reads some as line breaks (NEL, LS, PS) and does not allow the rest
const JSON_RAW_YAML_UNSAFE = /[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/g;

function quoted(s: string): string {
  return JSON.stringify(s).replace(JSON_RAW_YAML_UNSAFE, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

function scalar(v: string | number | boolean | null): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`YAML: ${v} is not a finite number`);
    return String(v);
  }
  return plainSafe(v) ? v : quoted(v);
}

const isMap = (v: YamlValue): v is { [key: string]: YamlValue | undefined } => v !== null && typeof v === "object" && !Array.isArray(v);
const entries = (m: { [key: string]: YamlValue | undefined }) => Object.entries(m).filter((e): e is [string, YamlValue] => e[1] !== undefined);

/** The lines for `value` placed after "key:" or "- " at `indent` spaces. */
function valueAfter(value: YamlValue, indent: number): string {
  const pad = " ".repeat(indent);
  if (typeof value === "string" && BLOCK.test(value) && !value.endsWith("\n\n") && !/[\ud800-\udfff]/.test(value)) {
    return " |\n" + value.slice(0, -1).split("\n").map((l) => (l === "" ? "" : pad + "  " + l)).join("\n") + "\n";
  }
  if (Array.isArray(value)) return value.length === 0 ? " []\n" : "\n" + list(value, indent);
  if (isMap(value)) return entries(value).length === 0 ? " {}\n" : "\n" + map(value, indent + 2);
  return " " + scalar(value) + "\n";
}

function map(m: { [key: string]: YamlValue | undefined }, indent: number): string {
  const pad = " ".repeat(indent);
  return entries(m).map(([k, v]) => `${pad}${scalar(k)}:${valueAfter(v, indent)}`).join("");
}

// list items sit at the parent's indentation ("- " counts as indentation for what follows)
function list(items: YamlValue[], indent: number): string {
  const pad = " ".repeat(indent);
  return items.map((item) => {
    if (isMap(item) && entries(item).length > 0) return pad + "- " + map(item, indent + 2).slice(indent + 2);
    if (Array.isArray(item) && item.length > 0) return pad + "-\n" + list(item, indent + 2);
    return pad + "-" + valueAfter(item, indent);
  }).join("");
}

/** One YAML document for a mapping (or any value). */
export function toYaml(value: YamlValue): string {
  if (isMap(value)) return entries(value).length === 0 ? "{}\n" : map(value, 0);
  if (Array.isArray(value)) return value.length === 0 ? "[]\n" : list(value, 0);
  return scalar(value) + "\n";
}

/** A stream of documents, each introduced by "---". */
export function toYamlDocuments(values: YamlValue[]): string {
  return values.map((v) => "---\n" + toYaml(v)).join("");
}
