-- When a document was cancelled, so that reports as of an earlier date still show it as it was
-- then (open, for its whole amount: only untouched documents can be cancelled).
ALTER TABLE documents ADD COLUMN cancelled_at TIMESTAMPTZ;
-- Documents cancelled before this column existed: their last change was the cancellation.
UPDATE documents SET cancelled_at = updated_at WHERE status = 'cancelled';
ALTER TABLE documents ADD CONSTRAINT documents_cancelled_at
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL));
