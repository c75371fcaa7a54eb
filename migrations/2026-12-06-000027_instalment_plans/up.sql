-- Instalment plans: an invoice due in parts, each with its own due date and amount. What is
-- still open of each instalment is not stored: it follows from the document's open amount,
-- everything settled on the document going to the instalments in order (oldest due first).
-- So every way a document's open amount changes (runs, reviews, manual allocations, write-offs,
-- unapplying) keeps the instalments right without touching this table.
CREATE TABLE document_instalments (
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    document_id  UUID NOT NULL REFERENCES documents(id),
    -- 1, 2, ... in due-date order (due dates strictly increase with seq).
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    due_date     DATE NOT NULL,
    amount       NUMERIC(20, 4) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (tenant_id, document_id, seq),
    UNIQUE (tenant_id, document_id, due_date)
);
