// stdout for the Deno adapter. node:process's stdout.write blocks the whole process on a full pipe
// (journald not reading: DNS stops); Deno.stdout.write is asynchronous. Writes go out one at a time,
// in order, partial writes finished.
declare const Deno: any;

const queue: { data: Uint8Array; done: () => void }[] = [];
let writing = false;

export function writeDenoStdout(data: Uint8Array, done: () => void): void {
  queue.push({ data, done });
  if (!writing) void pump();
}

async function pump(): Promise<void> {
  writing = true;
  while (queue.length > 0) {
    const { data, done } = queue.shift()!;
    try {
      for (let off = 0; off < data.length;) off += await Deno.stdout.write(data.subarray(off));
    } catch { /* stdout closed: the line is lost, as it would be anyway */ }
    done();
  }
  writing = false;
}
