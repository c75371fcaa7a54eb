DROP TABLE inbound_messages;
DROP TABLE inbound_secrets;
DROP TABLE portal_tokens;
DROP TABLE balance_confirmations;
DROP TABLE difference_comments;
DROP TABLE differences;
DROP TABLE customer_statement_lines;
DROP TABLE customer_statements;
