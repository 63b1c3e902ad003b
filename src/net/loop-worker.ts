// Worker entry of a UDP loop whose handler module is named at run time (tests, benchmarks). The
// product's data path has its own entry with the handler imported statically (src/server/ffi/).
import { serveLoopInWorker, type WorkerScope } from "./loop-worker-main";
import type { BatchHandlerFactory } from "./batch-handler";

declare const self: WorkerScope;

serveLoopInWorker(self, async (init) => {
  const mod = await import(init.handler.module);
  const factory = mod[init.handler.export] as BatchHandlerFactory | undefined;
  if (typeof factory !== "function") throw new Error(`${init.handler.module} exports no function ${init.handler.export}`);
  return factory;
});
