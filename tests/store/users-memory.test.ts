import { MemoryUserStore } from "../../app/store/users/memory.server";
import { createTestClock } from "../support/clock";
import { runUserStoreContract } from "./user-store-contract";

runUserStoreContract("memory", async () => {
  const clock = createTestClock();
  return { users: new MemoryUserStore({ clock }), now: () => clock() };
});
