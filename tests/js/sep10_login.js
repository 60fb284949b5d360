// SEP-10 login with SDF's TypeScript wallet SDK, exactly as a wallet does it:
//   node sep10_login.js <home domain> <account secret> [<SEP-24 asset code>]
// Prints {"token": ...} on success, {"error": ...} and exit code 1 otherwise.
// With an asset code it then opens a SEP-24 deposit and reads it back through
// the SDK: {"token", "info", "deposit", "transaction", "transactions"}.
// The SDK reads the anchor's stellar.toml, asks WEB_AUTH_ENDPOINT for a
// challenge, checks it (home domain, web_auth_domain, signature), signs it
// and exchanges it for a token. Testnet passphrase: allowHttp needs it.
"use strict";

const { Wallet, SigningKeypair } = require("@stellar/typescript-wallet-sdk");

async function main() {
  const [homeDomain, secret, assetCode] = process.argv.slice(2);
  const wallet = Wallet.TestNet();
  const anchor = wallet.anchor({
    homeDomain,
    allowHttp: homeDomain.startsWith("http://"),
  });
  const sep10 = await anchor.sep10();
  const auth = await sep10.authenticate({
    accountKp: SigningKeypair.fromSecret(secret),
  });
  const out = { token: auth.token };
  if (assetCode) {
    const sep24 = anchor.sep24();
    out.info = await sep24.info();
    out.deposit = await sep24.deposit({ assetCode, authToken: auth });
    out.transaction = await sep24.getTransactionBy({
      authToken: auth,
      id: out.deposit.id,
    });
    out.transactions = await sep24.getTransactionsForAsset({
      authToken: auth,
      assetCode,
    });
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ error: String(error && error.message) }) + "\n");
  process.exit(1);
});
