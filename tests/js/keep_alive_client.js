// node-fetch v2 (what Stellar's JavaScript tools use) on Node's default agent,
// which keeps connections alive from Node 19 on: N requests in a row.
//   node keep_alive_client.js <url> <count>
// node-fetch v2 sends "Connection: close"; a server that closes the socket
// without saying so gets the next request on a dead socket (ECONNRESET).
// Prints {"ok": n, "errors": [...]}.
"use strict";

const http = require("http");
const fetch = require("node-fetch");

// Node 19+'s default agent, spelled out so that the test means the same on
// older Node.
const agent = new http.Agent({ keepAlive: true });

async function main() {
  const [url, count] = process.argv.slice(2);
  const errors = [];
  let ok = 0;
  for (let i = 0; i < Number(count); i += 1) {
    try {
      // The header node-fetch v2 clients were seen sending (older 2.x releases
      // added it themselves when given no agent).
      const response = await fetch(url, {
        agent,
        headers: { Connection: "close" },
      });
      await response.text();
      if (response.status < 500) ok += 1;
      else errors.push(`request ${i + 1}: HTTP ${response.status}`);
    } catch (error) {
      errors.push(`request ${i + 1}: ${error.code || error.message}`);
    }
  }
  process.stdout.write(JSON.stringify({ ok, errors }) + "\n");
}

main();
