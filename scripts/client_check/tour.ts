// The five-call tour with the TypeScript client generated from openapi/openapi.json
// (openapi-typescript types + openapi-fetch): import customers, import documents, read a
// balance, list documents. Usage: node tour.js BASE_URL API_KEY (the tenant comes from the CLI).
import createClient from "openapi-fetch";
import type { paths } from "./api.js";

function check(condition: boolean, what: string, detail: unknown): void {
  if (!condition) {
    console.error(`typescript client: ${what}: ${JSON.stringify(detail)}`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const [base, key] = process.argv.slice(2);
  const api = createClient<paths>({ baseUrl: `${base}/api/v1`, headers: { Authorization: `Bearer ${key}` } });

  const customers = await api.POST("/customers/import", {
    body: [
      { code: "TS-1", name: "Müller Maschinenbau GmbH", country: "DE", default_currency: "EUR" },
      { code: "TS-2", name: "上海华东贸易有限公司", country: "CN", default_currency: "CNY" },
    ],
  });
  check(customers.data?.created === 2, "import customers", customers.error ?? customers.data);

  const documents = await api.POST("/documents/import", {
    body: [
      { doc_type: "invoice", doc_no: "TS-INV-1", customer_code: "TS-1", issue_date: "2026-11-01", due_date: "2026-12-01", currency: "EUR", amount: "1234.50" },
      { doc_type: "credit_note", doc_no: "TS-CN-1", customer_code: "TS-1", issue_date: "2026-11-15", currency: "EUR", amount: "100.05" },
    ],
    headers: { "Idempotency-Key": "ts-tour-documents" },
  });
  check(documents.data?.created === 2, "import documents", documents.error ?? documents.data);

  const balance = await api.GET("/customers/{code}/balance", { params: { path: { code: "TS-1" } } });
  const eur = balance.data?.balances.find((b) => b.currency === "EUR");
  check(eur?.balance === "1134.45", "balance", balance.error ?? balance.data);

  const list = await api.GET("/documents", { params: { query: { customer: "TS-1", limit: 10 } } });
  const numbers = (list.data?.items ?? []).map((d) => d.doc_no).sort();
  check(JSON.stringify(numbers) === JSON.stringify(["TS-CN-1", "TS-INV-1"]), "list documents", list.error ?? list.data);

  // A coded error comes back typed as the ErrorBody schema.
  const missing = await api.GET("/customers/{code}", { params: { path: { code: "NO-SUCH" } } });
  check(missing.response.status === 404 && missing.error?.error.code === "not_found", "404", missing.error);

  console.log(`typescript client: tour ok (balance EUR ${eur?.balance}, ${numbers.length} documents)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
