// Serves Better Auth's SCIM 2.0 plugin (@better-auth/scim) on 127.0.0.1, for scimrec's
// end-to-end tests: `SCIM_PORT=N SCIM_TOKEN=T node server.mjs`.
//
// Everything is Better Auth's default except what it cannot run without: a secret, a base
// URL, a database (Better Auth's own in-memory adapter, so every start is empty) and one
// static bearer credential on one provisioning connection. The SCIM base URL is
// http://127.0.0.1:N/api/auth/scim/v2 (Better Auth's default basePath is /api/auth).
// SIGTERM and SIGINT stop it with exit status 0.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";

import { scim } from "@better-auth/scim";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { getAuthTables } from "better-auth/db";
import { toNodeHandler } from "better-auth/node";

const port = Number(process.env.SCIM_PORT);
const token = process.env.SCIM_TOKEN;
if (!Number.isInteger(port) || port <= 0 || !token) {
  console.error("usage: SCIM_PORT=<port> SCIM_TOKEN=<bearer token> node server.mjs");
  process.exit(2);
}

const db = {};
const options = {
  secret: randomBytes(32).toString("hex"),
  baseURL: `http://127.0.0.1:${port}`,
  database: memoryAdapter(db),
  plugins: [
    scim({
      connections: [{ id: "scimrec-e2e", credentials: [{ type: "bearer", id: "e2e", token }] }],
    }),
  ],
};
// The memory adapter looks tables up by name, so each one must exist (empty) up front.
for (const table of Object.values(getAuthTables(options))) db[table.modelName] = [];

const server = createServer(toNodeHandler(betterAuth(options)));
server.listen(port, "127.0.0.1", () => {
  console.log(`READY http://127.0.0.1:${port}/api/auth/scim/v2`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
