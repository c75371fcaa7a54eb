ALTER TABLE documents DROP COLUMN cancelled_at;
