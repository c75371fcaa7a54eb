ALTER TABLE customer_statement_lines DROP CONSTRAINT customer_statement_lines_statement_id_line_no_tenant_id_key,
    ADD CONSTRAINT customer_statement_lines_statement_id_line_no_key UNIQUE (statement_id, line_no);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_endpoint_id_event_id_tenant_id_key,
    ADD CONSTRAINT webhook_deliveries_endpoint_id_event_id_key UNIQUE (endpoint_id, event_id);
ALTER TABLE password_reset_tokens DROP CONSTRAINT password_reset_tokens_token_hash_tenant_id_key,
    ADD CONSTRAINT password_reset_tokens_token_hash_key UNIQUE (token_hash);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_prefix_tenant_id_key,
    ADD CONSTRAINT api_keys_prefix_key UNIQUE (prefix);

ALTER TABLE api_keys DROP CONSTRAINT api_keys_tenant_id_connector_id_fkey;
ALTER TABLE balance_confirmations DROP CONSTRAINT balance_confirmations_tenant_id_customer_id_fkey;
ALTER TABLE connector_push_secrets DROP CONSTRAINT connector_push_secrets_tenant_id_connector_id_fkey;
ALTER TABLE connector_syncs DROP CONSTRAINT connector_syncs_tenant_id_connector_id_fkey;
ALTER TABLE customer_dunning DROP CONSTRAINT customer_dunning_tenant_id_customer_id_fkey;
ALTER TABLE customer_statement_lines DROP CONSTRAINT customer_statement_lines_tenant_id_statement_id_fkey;
ALTER TABLE customer_statement_mappings DROP CONSTRAINT customer_statement_mappings_tenant_id_customer_id_fkey;
ALTER TABLE customer_statements DROP CONSTRAINT customer_statements_tenant_id_customer_id_fkey;
ALTER TABLE difference_comments DROP CONSTRAINT difference_comments_tenant_id_difference_id_fkey;
ALTER TABLE differences DROP CONSTRAINT differences_tenant_id_adjustment_document_id_fkey;
ALTER TABLE differences DROP CONSTRAINT differences_tenant_id_customer_id_fkey;
ALTER TABLE differences DROP CONSTRAINT differences_tenant_id_our_document_id_fkey;
ALTER TABLE differences DROP CONSTRAINT differences_tenant_id_statement_id_fkey;
ALTER TABLE document_instalments DROP CONSTRAINT document_instalments_tenant_id_document_id_fkey;
ALTER TABLE document_lines DROP CONSTRAINT document_lines_tenant_id_document_id_fkey;
ALTER TABLE dunning_actions DROP CONSTRAINT dunning_actions_tenant_id_customer_id_fkey;
ALTER TABLE dunning_actions DROP CONSTRAINT dunning_actions_tenant_id_run_id_fkey;
ALTER TABLE dunning_assignments DROP CONSTRAINT dunning_assignments_tenant_id_customer_id_fkey;
ALTER TABLE dunning_assignments DROP CONSTRAINT dunning_assignments_tenant_id_run_id_fkey;
ALTER TABLE inbound_messages DROP CONSTRAINT inbound_messages_tenant_id_statement_id_fkey;
ALTER TABLE inbound_secrets DROP CONSTRAINT inbound_secrets_tenant_id_customer_id_fkey;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_tenant_id_customer_id_fkey;
ALTER TABLE password_reset_tokens DROP CONSTRAINT password_reset_tokens_tenant_id_user_id_fkey;
ALTER TABLE portal_tokens DROP CONSTRAINT portal_tokens_tenant_id_customer_id_fkey;
ALTER TABLE reconciliation_runs DROP CONSTRAINT reconciliation_runs_tenant_id_bank_account_id_fkey;
ALTER TABLE statement_run_items DROP CONSTRAINT statement_run_items_tenant_id_customer_id_fkey;
ALTER TABLE statement_run_items DROP CONSTRAINT statement_run_items_tenant_id_run_id_fkey;
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_tenant_id_delivery_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_tenant_id_endpoint_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_tenant_id_event_id_fkey;
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_tenant_id_customer_id_fkey;
ALTER TABLE write_offs DROP CONSTRAINT write_offs_tenant_id_allocation_id_fkey;
ALTER TABLE write_offs DROP CONSTRAINT write_offs_tenant_id_document_id_fkey;

ALTER TABLE users DROP CONSTRAINT users_pkey, ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey, ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);
ALTER TABLE customers DROP CONSTRAINT customers_pkey, ADD CONSTRAINT customers_pkey PRIMARY KEY (id);
ALTER TABLE documents DROP CONSTRAINT documents_pkey, ADD CONSTRAINT documents_pkey PRIMARY KEY (id);
ALTER TABLE bank_accounts DROP CONSTRAINT bank_accounts_pkey, ADD CONSTRAINT bank_accounts_pkey PRIMARY KEY (id);
ALTER TABLE bank_statements DROP CONSTRAINT bank_statements_pkey, ADD CONSTRAINT bank_statements_pkey PRIMARY KEY (id);
ALTER TABLE bank_lines DROP CONSTRAINT bank_lines_pkey, ADD CONSTRAINT bank_lines_pkey PRIMARY KEY (id);
ALTER TABLE reconciliation_runs DROP CONSTRAINT reconciliation_runs_pkey, ADD CONSTRAINT reconciliation_runs_pkey PRIMARY KEY (id);
ALTER TABLE allocations DROP CONSTRAINT allocations_pkey, ADD CONSTRAINT allocations_pkey PRIMARY KEY (id);
ALTER TABLE write_offs DROP CONSTRAINT write_offs_pkey, ADD CONSTRAINT write_offs_pkey PRIMARY KEY (id);
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_pkey, ADD CONSTRAINT outbox_events_pkey PRIMARY KEY (id);
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_pkey, ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey, ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_pkey, ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id);
ALTER TABLE customer_statements DROP CONSTRAINT customer_statements_pkey, ADD CONSTRAINT customer_statements_pkey PRIMARY KEY (id);
ALTER TABLE customer_statement_lines DROP CONSTRAINT customer_statement_lines_pkey, ADD CONSTRAINT customer_statement_lines_pkey PRIMARY KEY (id);
ALTER TABLE differences DROP CONSTRAINT differences_pkey, ADD CONSTRAINT differences_pkey PRIMARY KEY (id);
ALTER TABLE difference_comments DROP CONSTRAINT difference_comments_pkey, ADD CONSTRAINT difference_comments_pkey PRIMARY KEY (id);
ALTER TABLE balance_confirmations DROP CONSTRAINT balance_confirmations_pkey, ADD CONSTRAINT balance_confirmations_pkey PRIMARY KEY (id);
ALTER TABLE portal_tokens DROP CONSTRAINT portal_tokens_pkey, ADD CONSTRAINT portal_tokens_pkey PRIMARY KEY (id);
ALTER TABLE inbound_secrets DROP CONSTRAINT inbound_secrets_pkey, ADD CONSTRAINT inbound_secrets_pkey PRIMARY KEY (id);
ALTER TABLE dunning_levels DROP CONSTRAINT dunning_levels_pkey, ADD CONSTRAINT dunning_levels_pkey PRIMARY KEY (id);
ALTER TABLE dunning_runs DROP CONSTRAINT dunning_runs_pkey, ADD CONSTRAINT dunning_runs_pkey PRIMARY KEY (id);
ALTER TABLE dunning_actions DROP CONSTRAINT dunning_actions_pkey, ADD CONSTRAINT dunning_actions_pkey PRIMARY KEY (id);
ALTER TABLE statement_runs DROP CONSTRAINT statement_runs_pkey, ADD CONSTRAINT statement_runs_pkey PRIMARY KEY (id);
ALTER TABLE connectors DROP CONSTRAINT connectors_pkey, ADD CONSTRAINT connectors_pkey PRIMARY KEY (id);
ALTER TABLE connector_syncs DROP CONSTRAINT connector_syncs_pkey, ADD CONSTRAINT connector_syncs_pkey PRIMARY KEY (id);
ALTER TABLE connector_push_secrets DROP CONSTRAINT connector_push_secrets_pkey, ADD CONSTRAINT connector_push_secrets_pkey PRIMARY KEY (id);
ALTER TABLE audit_pending DROP CONSTRAINT audit_pending_pkey, ADD CONSTRAINT audit_pending_pkey PRIMARY KEY (id);
ALTER TABLE password_reset_tokens DROP CONSTRAINT password_reset_tokens_pkey, ADD CONSTRAINT password_reset_tokens_pkey PRIMARY KEY (id);
ALTER TABLE products DROP CONSTRAINT products_pkey, ADD CONSTRAINT products_pkey PRIMARY KEY (id);
ALTER TABLE customer_contacts DROP CONSTRAINT customer_contacts_pkey, ADD CONSTRAINT customer_contacts_pkey PRIMARY KEY (id);
ALTER TABLE import_mappings DROP CONSTRAINT import_mappings_pkey, ADD CONSTRAINT import_mappings_pkey PRIMARY KEY (id);
ALTER TABLE customer_dunning DROP CONSTRAINT customer_dunning_pkey,
    ADD CONSTRAINT customer_dunning_pkey PRIMARY KEY (customer_id);
ALTER TABLE customer_statement_mappings DROP CONSTRAINT customer_statement_mappings_pkey,
    ADD CONSTRAINT customer_statement_mappings_pkey PRIMARY KEY (customer_id);
ALTER TABLE dunning_assignments DROP CONSTRAINT dunning_assignments_pkey,
    ADD CONSTRAINT dunning_assignments_pkey PRIMARY KEY (run_id, customer_id, currency);
ALTER TABLE statement_run_items DROP CONSTRAINT statement_run_items_pkey,
    ADD CONSTRAINT statement_run_items_pkey PRIMARY KEY (run_id, customer_id);

ALTER TABLE api_keys ADD CONSTRAINT api_keys_connector_id_fkey FOREIGN KEY (connector_id) REFERENCES connectors (id) ON DELETE CASCADE;
ALTER TABLE balance_confirmations ADD CONSTRAINT balance_confirmations_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE connector_push_secrets ADD CONSTRAINT connector_push_secrets_connector_id_fkey FOREIGN KEY (connector_id) REFERENCES connectors (id) ON DELETE CASCADE;
ALTER TABLE connector_syncs ADD CONSTRAINT connector_syncs_connector_id_fkey FOREIGN KEY (connector_id) REFERENCES connectors (id) ON DELETE CASCADE;
ALTER TABLE customer_dunning ADD CONSTRAINT customer_dunning_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE customer_statement_lines ADD CONSTRAINT customer_statement_lines_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES customer_statements (id);
ALTER TABLE customer_statement_mappings ADD CONSTRAINT customer_statement_mappings_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE customer_statements ADD CONSTRAINT customer_statements_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE difference_comments ADD CONSTRAINT difference_comments_difference_id_fkey FOREIGN KEY (difference_id) REFERENCES differences (id);
ALTER TABLE differences ADD CONSTRAINT differences_adjustment_document_id_fkey FOREIGN KEY (adjustment_document_id) REFERENCES documents (id);
ALTER TABLE differences ADD CONSTRAINT differences_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE differences ADD CONSTRAINT differences_our_document_id_fkey FOREIGN KEY (our_document_id) REFERENCES documents (id);
ALTER TABLE differences ADD CONSTRAINT differences_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES customer_statements (id);
ALTER TABLE document_instalments ADD CONSTRAINT document_instalments_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents (id);
ALTER TABLE document_lines ADD CONSTRAINT document_lines_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents (id);
ALTER TABLE dunning_actions ADD CONSTRAINT dunning_actions_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE dunning_actions ADD CONSTRAINT dunning_actions_run_id_fkey FOREIGN KEY (run_id) REFERENCES dunning_runs (id);
ALTER TABLE dunning_assignments ADD CONSTRAINT dunning_assignments_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE dunning_assignments ADD CONSTRAINT dunning_assignments_run_id_fkey FOREIGN KEY (run_id) REFERENCES dunning_runs (id);
ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES customer_statements (id);
ALTER TABLE inbound_secrets ADD CONSTRAINT inbound_secrets_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE password_reset_tokens ADD CONSTRAINT password_reset_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE portal_tokens ADD CONSTRAINT portal_tokens_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE reconciliation_runs ADD CONSTRAINT reconciliation_runs_bank_account_id_fkey FOREIGN KEY (bank_account_id) REFERENCES bank_accounts (id);
ALTER TABLE statement_run_items ADD CONSTRAINT statement_run_items_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE statement_run_items ADD CONSTRAINT statement_run_items_run_id_fkey FOREIGN KEY (run_id) REFERENCES statement_runs (id);
ALTER TABLE webhook_attempts ADD CONSTRAINT webhook_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_id_fkey FOREIGN KEY (event_id) REFERENCES outbox_events (id);
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE write_offs ADD CONSTRAINT write_offs_allocation_id_fkey FOREIGN KEY (allocation_id) REFERENCES allocations (id);
ALTER TABLE write_offs ADD CONSTRAINT write_offs_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents (id);
