// Worker entry of the FFI data path's loop: the DNS batch handler, imported statically so the compiled
// binary carries it (build/build.ts lists this file as an entry point).
import { serveLoopInWorker, type WorkerScope } from "../../net/loop-worker-main";
import { createDnsBatchHandler } from "./dns-batch-handler";

declare const self: WorkerScope;

serveLoopInWorker(self, async () => createDnsBatchHandler);
