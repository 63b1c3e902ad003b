// install.sh into a temporary DESTDIR tree: files and modes, a second run that changes nothing, an
// uninstall that restores the tree, an operator's config kept, and clear errors for bad input.
import { describe, test, expect, beforeEach, afterEach } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "./helpers/binary";

const ROOT = join(import.meta.dir, "..");
const INSTALL = join(ROOT, "install.sh");
const DEFAULT_CONFIG = join(ROOT, "packaging/localdns.json");
const why = existsSync(BINARY) ? null : "dist/localdns is not built";
if (why) console.log(`skipping install.sh tests: ${why}`);

let dir: string;
let dest: string;
let wrapper: string; // a small stand-in binary (validate works through it) so each install copies bytes, not 100 MB

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ldns-install-"));
  dest = join(dir, "root");
  mkdirSync(dest);
  // what a node image already has: must survive install and uninstall untouched
  mkdirSync(join(dest, "etc/systemd/system"), { recursive: true });
  writeFileSync(join(dest, "etc/hostname"), "node-1\n");
  writeFileSync(join(dest, "etc/systemd/system/other.service"), "[Service]\nExecStart=/bin/true\n");
  wrapper = join(dir, "localdns-wrapper");
  writeFileSync(wrapper, `#!/bin/sh\nexec '${BINARY}' "$@"\n`);
  chmodSync(wrapper, 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function install(args: string[], env: Record<string, string | undefined> = { DESTDIR: dest }, user?: string) {
  const cmd = user ? "setpriv" : "bash";
  const full = user ? ["--reuid", user, "--regid", user === "nobody" ? "nogroup" : user, "--clear-groups", "bash", INSTALL, ...args] : [INSTALL, ...args];
  const e: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: dir };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) e[k] = v;
  const r = spawnSync(cmd, full, { encoding: "utf8", env: e, timeout: 60_000 });
  return { status: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

/** Every path under the tree with its type, mode, content hash or link target and mtime. */
function snapshot(root = dest): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = p.slice(root.length);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) { out[rel] = `dir ${(st.mode & 0o777).toString(8)}`; walk(p); }
      else out[rel] = `file ${(st.mode & 0o777).toString(8)} ${createHash("sha256").update(readFileSync(p)).digest("hex")} ${st.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}
const mode = (p: string) => (lstatSync(join(dest, p)).mode & 0o777).toString(8);

describe.skipIf(why !== null)("install.sh", () => {
  test("installs binary, config, unit and the wants symlink with the right modes", () => {
    const r = install(["--binary", wrapper]);
    expect(r.status).toBe(0);
    expect(mode("usr/local/bin/localdns")).toBe("755");
    expect(readFileSync(join(dest, "usr/local/bin/localdns"), "utf8")).toBe(readFileSync(wrapper, "utf8"));
    expect(mode("etc/localdns/localdns.json")).toBe("644");
    expect(readFileSync(join(dest, "etc/localdns/localdns.json"), "utf8")).toBe(readFileSync(DEFAULT_CONFIG, "utf8"));
    expect(mode("etc/systemd/system/localdns.service")).toBe("644");
    expect(readFileSync(join(dest, "etc/systemd/system/localdns.service"), "utf8")).toBe(readFileSync(join(ROOT, "localdns.service"), "utf8"));
    expect(readlinkSync(join(dest, "etc/systemd/system/multi-user.target.wants/localdns.service"))).toBe("/etc/systemd/system/localdns.service");
    // the listener sockets of the installed config, held by systemd across restarts
    expect(mode("etc/systemd/system/localdns.socket")).toBe("644");
    expect(readFileSync(join(dest, "etc/systemd/system/localdns.socket"), "utf8")).toContain("ListenDatagram=169.254.10.10:53\nListenStream=169.254.10.10:53\n");
    expect(readlinkSync(join(dest, "etc/systemd/system/sockets.target.wants/localdns.socket"))).toBe("/etc/systemd/system/localdns.socket");
    expect(mode("etc/localdns/install-manifest")).toBe("644");
    expect(mode("etc/localdns")).toBe("755");
  });

  test("the default binary is dist/localdns", () => {
    expect(install([]).status).toBe(0);
    expect(lstatSync(join(dest, "usr/local/bin/localdns")).size).toBe(lstatSync(BINARY).size);
  }, 60_000);

  test("a second run changes nothing", () => {
    expect(install(["--binary", wrapper]).status).toBe(0);
    const before = snapshot();
    const r = install(["--binary", wrapper]);
    expect(r.status).toBe(0);
    expect(r.out).toContain("nothing to do");
    expect(snapshot()).toEqual(before);
  });

  test("--uninstall leaves the tree as it was before the install, and nothing else is touched", () => {
    const before = snapshot();
    expect(install(["--binary", wrapper]).status).toBe(0);
    writeFileSync(join(dest, "etc/systemd/system/added-later.service"), "[Service]\n");
    const r = install(["--uninstall"]);
    expect(r.status).toBe(0);
    const after = snapshot();
    expect(after["/etc/systemd/system/added-later.service"]).toBeDefined();
    delete after["/etc/systemd/system/added-later.service"];
    expect(after).toEqual(before);
  });

  test("--prefix puts the binary under it and rewrites the unit to match", () => {
    const before = snapshot();
    expect(install(["--binary", wrapper, "--prefix", "/opt/localdns", "--no-enable"]).status).toBe(0);
    expect(mode("opt/localdns/bin/localdns")).toBe("755");
    const unit = readFileSync(join(dest, "etc/systemd/system/localdns.service"), "utf8");
    expect(unit).toContain("ExecStart=/opt/localdns/bin/localdns run");
    expect(unit).toContain("ExecStopPost=+/opt/localdns/bin/localdns network release");
    expect(unit).not.toContain("/usr/local/bin");
    const socket = readFileSync(join(dest, "etc/systemd/system/localdns.socket"), "utf8");
    expect(socket).toContain("ExecStartPre=/opt/localdns/bin/localdns network up");
    expect(socket).toContain("ExecStopPost=/opt/localdns/bin/localdns network down");
    expect(socket).not.toContain("/usr/local/bin");
    expect(existsSync(join(dest, "etc/systemd/system/multi-user.target.wants"))).toBe(false);
    expect(install(["--uninstall"]).status).toBe(0);
    expect(snapshot()).toEqual(before);
  });

  test("an operator's changed config is kept; --config replaces it with a backup; uninstall keeps both", () => {
    expect(install(["--binary", wrapper]).status).toBe(0);
    const conf = join(dest, "etc/localdns/localdns.json");
    const mine = readFileSync(DEFAULT_CONFIG, "utf8").replace('"Preferred"', '"Required"');
    writeFileSync(conf, mine);

    let r = install(["--binary", wrapper]);
    expect(r.status).toBe(0);
    expect(r.out).toContain("keeping the existing");
    expect(readFileSync(conf, "utf8")).toBe(mine);

    const replacement = join(dir, "new.json");
    writeFileSync(replacement, JSON.stringify({ mode: "Preferred", listeners: { vnetDNS: ["169.254.10.10:53"], kubeDNS: ["169.254.10.11:53"] } }));
    r = install(["--binary", wrapper, "--config", replacement]);
    expect(r.status).toBe(0);
    expect(readFileSync(conf, "utf8")).toBe(readFileSync(replacement, "utf8"));
    const backups = readdirSync(join(dest, "etc/localdns")).filter((n) => n.startsWith("localdns.json.bak-"));
    expect(backups.length).toBe(1);
    expect(readFileSync(join(dest, "etc/localdns", backups[0]), "utf8")).toBe(mine);

    writeFileSync(conf, mine + "\n"); // changed again after the install
    r = install(["--uninstall"]);
    expect(r.status).toBe(0);
    expect(r.out).toContain("changed since it was installed");
    expect(existsSync(conf)).toBe(true);
    expect(existsSync(join(dest, "etc/localdns", backups[0]))).toBe(true);
    expect(existsSync(join(dest, "usr/local/bin/localdns"))).toBe(false);
    expect(existsSync(join(dest, "etc/systemd/system/localdns.service"))).toBe(false);
  });

  test("an unchanged installed config is updated in place by a new --config, without a backup", () => {
    expect(install(["--binary", wrapper]).status).toBe(0);
    const replacement = join(dir, "new.json");
    writeFileSync(replacement, JSON.stringify({ listeners: { vnetDNS: ["169.254.10.10:53"], kubeDNS: ["169.254.10.11:53"] } }));
    expect(install(["--binary", wrapper, "--config", replacement]).status).toBe(0);
    expect(readdirSync(join(dest, "etc/localdns")).filter((n) => n.includes(".bak-"))).toEqual([]);
    const before = snapshot();
    expect(install(["--uninstall"]).status).toBe(0);
    expect(existsSync(join(dest, "etc/localdns"))).toBe(false);
    expect(Object.keys(before).length).toBeGreaterThan(Object.keys(snapshot()).length);
  });

  test("--dry-run says what it would do and changes nothing", () => {
    const before = snapshot();
    const r = install(["--binary", wrapper, "--dry-run"]);
    expect(r.status).toBe(0);
    expect(r.out).toContain("would install");
    expect(snapshot()).toEqual(before);
    expect(install(["--binary", wrapper]).status).toBe(0);
    const installed = snapshot();
    expect(install(["--uninstall", "--dry-run"]).out).toContain("would remove");
    expect(snapshot()).toEqual(installed);
  });

  describe("bad input: a clear error, non-zero exit, and the tree untouched", () => {
    const cases: [string, () => string[], RegExp, Record<string, string | undefined>?][] = [
      ["a missing binary", () => ["--binary", join(dir, "nope")], /binary not found: .*nope/],
      ["a binary that is not executable", () => { writeFileSync(join(dir, "plain"), "x"); return ["--binary", join(dir, "plain")]; }, /not an executable file/],
      ["an invalid config", () => { writeFileSync(join(dir, "bad.json"), JSON.stringify({ mode: "Sometimes" })); return ["--binary", wrapper, "--config", join(dir, "bad.json")]; }, /mode: [\s\S]*invalid config: /],
      ["a config that is not JSON", () => { writeFileSync(join(dir, "bad.json"), "{"); return ["--binary", wrapper, "--config", join(dir, "bad.json")]; }, /not valid JSON[\s\S]*invalid config/],
      ["a missing config", () => ["--binary", wrapper, "--config", join(dir, "absent.json")], /config not found/],
      ["a relative prefix", () => ["--binary", wrapper, "--prefix", "opt"], /--prefix must be an absolute directory/],
      ["a prefix with a space", () => ["--binary", wrapper, "--prefix", "/opt/my dns"], /--prefix may only contain/],
      ["a prefix with ..", () => ["--binary", wrapper, "--prefix", "/opt/../etc"], /may not contain \. or \.\./],
      ["an unknown option", () => ["--frobnicate"], /unknown option: --frobnicate/],
      ["an option without its value", () => ["--config"], /--config needs a file/],
      ["a relative DESTDIR", () => ["--binary", wrapper], /DESTDIR must be an absolute directory/, { DESTDIR: "relative/root" }],
      ["uninstall with nothing installed", () => ["--uninstall"], /nothing to uninstall/],
    ];
    for (const [name, args, message, env] of cases) {
      test(name, () => {
        const before = snapshot();
        const r = install(args(), env ?? { DESTDIR: dest });
        expect(r.status).not.toBe(0);
        expect(r.out).toMatch(message);
        expect(snapshot()).toEqual(before);
      });
    }

    const asRoot = process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v setpriv"]).status === 0;
    test.skipIf(!asRoot)("not root, installing into the live system", () => {
      const r = install(["--binary", wrapper], {}, "nobody");
      expect(r.status).toBe(1);
      expect(r.out).toContain("must be run as root");
    });
    test.skipIf(!asRoot)("not root is fine for a DESTDIR tree it can write", () => {
      chmodSync(dir, 0o711);
      spawnSync("chown", ["-R", "nobody:nogroup", dest]);
      const r = install(["--binary", wrapper], { DESTDIR: dest, TMPDIR: "/tmp" }, "nobody");
      expect(r.out).toContain("done");
      expect(r.status).toBe(0);
      expect(lstatSync(join(dest, "usr/local/bin/localdns")).uid).toBe(lstatSync(dest).uid);
      expect(install(["--uninstall"], { DESTDIR: dest, TMPDIR: "/tmp" }, "nobody").status).toBe(0);
      expect(existsSync(join(dest, "usr"))).toBe(false);
    });
    test.skipIf(!asRoot)("not root, with a DESTDIR it cannot write", () => {
      chmodSync(dir, 0o711); // reachable, but the tree stays root's
      const before = snapshot();
      const r = install(["--binary", wrapper], { DESTDIR: dest }, "nobody");
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/not root, and .* is not writable/);
      expect(snapshot()).toEqual(before);
    });
  });
});
