// Entry of the Deno build. Bun's build sets LOCALDNS_VERSION with --define; Deno has no such flag, so
// the global that src/version.ts reads is set here, before src/main.ts is evaluated.
import pkg from "../package.json" with { type: "json" };

(globalThis as { LOCALDNS_VERSION?: string }).LOCALDNS_VERSION = pkg.version;
await import("../src/main.ts");
