import type { Request, Response } from '@tamky/modbus';

/** A link's connection came or went (port unplugged, TCP peer gone): becomes a gateway event. */
export type LinkStateListener = (state: 'open' | 'closed', detail?: string) => void;

/**
 * A Modbus master link: one request at a time (the bus owner guarantees that), the answer or a
 * ModbusError whose code says what went wrong (timeout, crc, exception, frame, closed).
 */
export interface ModbusLink {
  transact(unitId: number, req: Request, timeoutMs: number): Promise<Response>;
  isOpen(): boolean;
  close(): Promise<void>;
}

/** Values parsed out of one frame of a UART sensor that talks on its own (SDS011, text-line sensors). */
export type FrameValues = Record<string, number>;

export interface StreamSource {
  isOpen(): boolean;
  close(): Promise<void>;
}

export interface StreamHandlers {
  onFrame(values: FrameValues): void;
  /** A frame that failed its checksum or did not parse: counted against the device. */
  onBadFrame(kind: 'crc' | 'frame', detail: string): void;
  onState?: LinkStateListener;
}
