"""The five-call tour with the Python client generated from openapi/openapi.json
(openapi-python-client): import customers, import documents, read a balance, list documents.
Usage: python tour.py BASE_URL API_KEY (the tenant comes from the CLI). Type-checked by mypy."""

import datetime
import sys

from duizhang_client import AuthenticatedClient
from duizhang_client.api.customers import get_customer, get_customer_balance, import_customers
from duizhang_client.api.documents import import_documents, list_documents
from duizhang_client.models import CustomerBalance, CustomerInput, DocType, DocumentInput, ErrorBody, ImportReport
from duizhang_client.models import PageDocumentView


def check(condition: bool, what: str, detail: object) -> None:
    if not condition:
        sys.exit(f"python client: {what}: {detail}")


def main(base: str, key: str) -> None:
    client = AuthenticatedClient(base_url=f"{base}/api/v1", token=key, raise_on_unexpected_status=True)
    with client:
        customers = import_customers.sync(client=client, body=[
            CustomerInput(code="PY-1", name="Dupont & Fils SARL", country="FR", default_currency="EUR"),
            CustomerInput(code="PY-2", name="深圳南方电子有限公司", country="CN", default_currency="CNY"),
        ])
        check(isinstance(customers, ImportReport) and customers.created == 2, "import customers", customers)

        documents = import_documents.sync(client=client, idempotency_key="py-tour-documents", body=[
            DocumentInput(doc_type=DocType.INVOICE, doc_no="PY-INV-1", customer_code="PY-1",
                          issue_date=datetime.date(2026, 11, 1), due_date=datetime.date(2026, 12, 1),
                          currency="EUR", amount="990.10"),
            DocumentInput(doc_type=DocType.PAYMENT, doc_no="PY-PAY-1", customer_code="PY-1",
                          issue_date=datetime.date(2026, 11, 20), currency="EUR", amount="500.00"),
        ])
        check(isinstance(documents, ImportReport) and documents.created == 2, "import documents", documents)

        balance = get_customer_balance.sync("PY-1", client=client)
        check(isinstance(balance, CustomerBalance), "balance", balance)
        assert isinstance(balance, CustomerBalance)
        eur = [b.balance for b in balance.balances if b.currency == "EUR"]
        check(eur == ["490.10"], "balance", balance)

        page = list_documents.sync(client=client, customer="PY-1", limit=10)
        check(isinstance(page, PageDocumentView), "list documents", page)
        assert isinstance(page, PageDocumentView)
        numbers = sorted(d.doc_no for d in page.items)
        check(numbers == ["PY-INV-1", "PY-PAY-1"], "list documents", numbers)

        missing = get_customer.sync("NO-SUCH", client=client)
        check(isinstance(missing, ErrorBody) and missing.error.code == "not_found", "404", missing)

    print(f"python client: tour ok (balance EUR {eur[0]}, {len(numbers)} documents)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
