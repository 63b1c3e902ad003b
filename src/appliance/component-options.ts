// The options each running component takes from the effective config (applied at start and reload).
import type { EffectiveConfig } from "../config/effective";
import type { HandlerOptions } from "../server/handler";
import type { TcpBudgetLimits } from "../server/tcp-budget";

export function handlerOptions(c: EffectiveConfig): HandlerOptions {
  return {
    negativeTtlWithoutSoa: c.cache.negativeTtlWithoutSoa,
    failureCacheMs: c.cache.failureCacheSeconds * 1000,
    staleRecheckMs: c.cache.staleRecheckSeconds * 1000,
    randomizeCase: c.forward.randomizeCase,
  };
}

export const tcpBudgetLimits = (c: EffectiveConfig): TcpBudgetLimits => ({ maxConnections: c.server.maxTcpConnections, maxBytes: c.server.maxTcpBufferedBytes });
