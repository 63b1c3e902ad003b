// Runs the node tools (ip, iptables, networkctl) with argument arrays, never through a shell, and
// writes the few files the set-up owns. In dry-run mode changes are printed instead of made, and
// queries report "nothing there", so the printed plan is what a clean node would get.
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../log";

export interface CommandResult { status: number; stdout: string; stderr: string }

export interface Runner {
  /** A read-only command (listing addresses or rules). */
  query(cmd: string, args: string[]): CommandResult;
  /** A command that changes the node. */
  change(cmd: string, args: string[]): CommandResult;
  /** Whether a command exists (PATH or an absolute path). */
  has(cmd: string): boolean;
  /** Replaces a file atomically (parent directories created, mode 0644). */
  writeFile(path: string, text: string): void;
  /** Removes a file; no error when it is already gone. */
  removeFile(path: string): void;
  readonly dryRun: boolean;
}

const TIMEOUT_MS = 15_000; // no single tool call may hang a unit start or stop
const SEARCH_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function formatCommand(cmd: string, args: string[]): string {
  return [cmd, ...args].map(shellQuote).join(" ");
}

function spawn(cmd: string, args: string[]): CommandResult {
  const env = { ...process.env, PATH: process.env.PATH || SEARCH_PATH.join(":"), LC_ALL: "C" };
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: TIMEOUT_MS, env, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return { status: code === "ENOENT" ? 127 : 126, stdout: "", stderr: `${cmd}: ${r.error.message}` };
  }
  if (r.status === null) return { status: 128, stdout: r.stdout ?? "", stderr: `${cmd}: killed by ${r.signal}` };
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function exists(cmd: string): boolean {
  const dirs = cmd.includes("/") ? [""] : (process.env.PATH || SEARCH_PATH.join(":")).split(":").concat(SEARCH_PATH);
  for (const d of dirs) {
    try { accessSync(d === "" ? cmd : `${d}/${cmd}`, constants.X_OK); return true; } catch { /* next */ }
  }
  return false;
}

export function systemRunner(log: Logger): Runner {
  return {
    dryRun: false,
    query: spawn,
    change(cmd, args) {
      const r = spawn(cmd, args);
      log.info("ran", { cmd: formatCommand(cmd, args), status: r.status, ...(r.status !== 0 && r.stderr ? { stderr: r.stderr.trim() } : {}) });
      return r;
    },
    has: exists,
    writeFile(path, text) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, path);
      log.info("wrote", { file: path });
    },
    removeFile(path) { rmSync(path, { force: true }); log.info("removed", { file: path }); },
  };
}

export function dryRunner(print: (line: string) => void): Runner {
  return {
    dryRun: true,
    query: () => ({ status: 1, stdout: "", stderr: "dry run" }),
    change(cmd, args) { print(formatCommand(cmd, args)); return { status: 0, stdout: "", stderr: "" }; },
    has: () => true,
    writeFile(path, text) { print(`cat > ${shellQuote(path)} <<'EOF'\n${text}EOF`); },
    removeFile(path) { print(`rm -f ${shellQuote(path)}`); },
  };
}
