declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:net';
  export interface PDU {
    command: string;
    command_status: number;
    sequence_number: number;
    [field: string]: any;
    response(options?: Record<string, unknown>): PDU;
    isResponse(): boolean;
  }
  export interface Session extends EventEmitter {
    send(pdu: PDU, responseCallback?: (pdu: PDU) => void): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    pause(): void;
    resume(): void;
    bind_transceiver(options: Record<string, unknown>, callback?: (pdu: PDU) => void): void;
    submit_sm(options: Record<string, unknown>, callback?: (pdu: PDU) => void): void;
    deliver_sm(options: Record<string, unknown>, callback?: (pdu: PDU) => void): void;
    unbind(options?: Record<string, unknown>, callback?: (pdu: PDU) => void): void;
    [op: string]: any;
  }
  export function connect(
    options: { url: string; auto_enquire_link_period?: number; debug?: boolean } | string,
    callback?: () => void,
  ): Session;
  export function createServer(
    options?: Record<string, unknown> | ((session: Session) => void),
    listener?: (session: Session) => void,
  ): Server & EventEmitter;
  export const ESME_ROK: number;
  export const ESME_RBINDFAIL: number;
  export const ESME_RSYSERR: number;
  export const ESME_RTHROTTLED: number;
  export const ESME_RINVDSTADR: number;
  const smpp: {
    connect: typeof connect;
    createServer: typeof createServer;
    ESME_ROK: number;
    ESME_RBINDFAIL: number;
    ESME_RSYSERR: number;
    ESME_RTHROTTLED: number;
    ESME_RINVDSTADR: number;
    [k: string]: any;
  };
  export default smpp;
}
