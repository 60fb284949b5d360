// SEP-10 login with SDF's TypeScript wallet SDK, exactly as a wallet does it:
//   node sep10_login.js <home domain> <account secret>
// Prints {"token": ...} on success, {"error": ...} and exit code 1 otherwise.
// The SDK reads the anchor's stellar.toml, asks WEB_AUTH_ENDPOINT for a
// challenge, checks it (home domain, web_auth_domain, signature), signs it
// and exchanges it for a token. Testnet passphrase: allowHttp needs it.
"use strict";

const { Wallet, SigningKeypair } = require("@stellar/typescript-wallet-sdk");

async function main() {
  const [homeDomain, secret] = process.argv.slice(2);
  const wallet = Wallet.TestNet();
  const anchor = wallet.anchor({
    homeDomain,
    allowHttp: homeDomain.startsWith("http://"),
  });
  const sep10 = await anchor.sep10();
  const auth = await sep10.authenticate({
    accountKp: SigningKeypair.fromSecret(secret),
  });
  process.stdout.write(JSON.stringify({ token: auth.token }) + "\n");
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ error: String(error && error.message) }) + "\n");
  process.exit(1);
});
