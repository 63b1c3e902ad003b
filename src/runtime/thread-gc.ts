// A full collection of the calling thread's heap where the runtime offers one (Bun); nothing on Deno
// (V8 collects on its own). A loop Worker calls it: the main thread's memory keeper cannot reach a
// Worker's heap, and every hand-off leaves two small buffers behind there.
export function collectThreadGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(full: boolean): void } }).Bun;
  bun?.gc(true);
}
