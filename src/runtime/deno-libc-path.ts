// Where libc is, for Deno.dlopen: an absolute path, since Deno checks a bare "libc.so.6" against the
// working directory. (/proc/self/maps would name it, but Deno wants --allow-all to read /proc/self.)
import { existsSync } from "node:fs";

declare const Deno: any;

export function libcPath(): string {
  const triplet = `${Deno.build.arch}-linux-gnu`;
  for (const dir of [`/lib/${triplet}`, `/usr/lib/${triplet}`, "/lib64", "/usr/lib64", "/lib", "/usr/lib"]) {
    if (existsSync(`${dir}/libc.so.6`)) return `${dir}/libc.so.6`;
  }
  return "libc.so.6";
}
