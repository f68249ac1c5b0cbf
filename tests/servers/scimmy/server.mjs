// Serves SCIMMY (npm `scimmy`) through its Express routers (`scimmy-routers`) on 127.0.0.1,
// for scimrec's end-to-end tests: `SCIM_PORT=N SCIM_TOKEN=T [SCIM_EXPRESS=4] node server.mjs`.
//
// SCIMMY parses, validates, filters, patches and pages; it leaves storage to the app, through
// the ingress (create/replace), egress (read) and degress (delete) handlers each resource type
// declares. Those handlers are the only code here, and they do what SCIMMY's own docs show:
// a plain in-memory store (so every start is empty), egress applying the request's filter
// with SCIMMY's `Filter.match`, a 404 for an unknown id and a 409 for a taken userName.
// Everything else is SCIMMY's default. The SCIM base URL is http://127.0.0.1:N/scim/v2.
//
// The app is Express 5 (what `npm install express` gives), or Express 4 with SCIM_EXPRESS=4
// (what scimmy-routers is developed on). They differ where it shows: on Express 5 the
// routers' cast of startIndex and count does not stick (req.query is a getter there), so
// every listing is the first 20 resources whatever is asked; on Express 4 paging works.
// SIGTERM and SIGINT stop it with exit status 0.
import { randomUUID } from "node:crypto";

import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const express = (await import(process.env.SCIM_EXPRESS === "4" ? "express4" : "express")).default;
const port = Number(process.env.SCIM_PORT);
const token = process.env.SCIM_TOKEN;
if (!Number.isInteger(port) || port <= 0 || !token) {
  console.error("usage: SCIM_PORT=<port> SCIM_TOKEN=<bearer token> node server.mjs");
  process.exit(2);
}

// One store per resource type: id -> the resource as the app keeps it.
function store(kind, unique) {
  const items = new Map();
  const notFound = (id) => new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);
  return {
    ingress(resource, instance) {
      const now = new Date().toISOString();
      const old = resource.id ? items.get(resource.id) : undefined;
      if (resource.id && !old) throw notFound(resource.id);
      const data = JSON.parse(JSON.stringify(instance));
      if (unique) {
        const value = String(data[unique] ?? "").toLowerCase();
        for (const [id, other] of items) {
          if (id !== resource.id && String(other[unique] ?? "").toLowerCase() === value) {
            throw new SCIMMY.Types.Error(409, "uniqueness", `${kind} ${unique} is not unique`);
          }
        }
      }
      const id = resource.id ?? randomUUID();
      const created = old?.meta?.created ?? now;
      const kept = { ...data, id, meta: { created, lastModified: now } };
      items.set(id, kept);
      return kept;
    },
    egress(resource) {
      if (resource.id) {
        const found = items.get(resource.id);
        if (!found) throw notFound(resource.id);
        return found;
      }
      const all = [...items.values()];
      return resource.filter ? resource.filter.match(all) : all;
    },
    degress(resource) {
      if (!items.delete(resource.id)) throw notFound(resource.id);
    },
  };
}

const users = store("User", "userName");
const groups = store("Group", null);
SCIMMY.Resources.declare(SCIMMY.Resources.User)
  .ingress(users.ingress)
  .egress(users.egress)
  .degress(users.degress);
SCIMMY.Resources.declare(SCIMMY.Resources.Group)
  .ingress(groups.ingress)
  .egress(groups.egress)
  .degress(groups.degress);

const app = express();
app.use(
  "/scim/v2",
  new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
      if (request.header("Authorization") !== `Bearer ${token}`) {
        throw new Error("Authorization not detected!");
      }
      return "scimrec-e2e";
    },
  }),
);

const server = app.listen(port, "127.0.0.1", () => {
  console.log(`READY http://127.0.0.1:${port}/scim/v2`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
