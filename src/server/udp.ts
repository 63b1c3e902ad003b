// UDP listener: binds one address and hands every datagram to the handler's hit path.
import type { Runtime, UdpSocket } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import type { QueryHandler } from "./handler";

export async function listenUdp(rt: Runtime, ep: Endpoint, set: number, handler: QueryHandler): Promise<UdpSocket> {
  try {
    return await rt.bindUdp(ep.host, ep.port, handler.udp(set, ep.family === 6));
  } catch (e) {
    throw new Error(`cannot bind UDP ${formatEndpoint(ep)}: ${(e as Error).message}`);
  }
}
