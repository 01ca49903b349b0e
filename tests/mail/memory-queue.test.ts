/**
 * The memory queue backend (app/mail/queue-memory.server.ts, tests and development) against
 * the contract every polled-queue backend meets (tests/mail/queue-backend-contract.ts).
 */
import { MemoryQueueBackend } from "../../app/mail/queue-memory.server";
import { describeQueueBackend } from "./queue-backend-contract";

describeQueueBackend("memory", () => {
  const backend = new MemoryQueueBackend();
  return {
    backend,
    sealedOf: (id) => backend.dump().find((row) => row.id === id)?.sealed,
  };
});
