// @generated automatically by Diesel CLI.

diesel::table! {
    allocations (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        run_id -> Nullable<Uuid>,
        bank_line_id -> Uuid,
        document_id -> Uuid,
        amount -> Numeric,
        line_amount -> Numeric,
        state -> Text,
        candidate_set -> Int4,
        confidence -> Numeric,
        rule -> Text,
        explanation -> Json,
        fx_rate -> Nullable<Numeric>,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Text>,
        rule_id -> Nullable<Uuid>,
        rule_version -> Nullable<Int4>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        role -> Text,
        scopes -> Array<Text>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        connector_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    audit_chain_heads (tenant_id) {
        tenant_id -> Uuid,
        last_seq -> Int8,
        last_hash -> Text,
    }
}

diesel::table! {
    audit_log (tenant_id, seq) {
        tenant_id -> Uuid,
        seq -> Int8,
        occurred_at -> Timestamptz,
        actor_type -> Text,
        actor_id -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_pending (id) {
        id -> Int8,
        tenant_id -> Uuid,
        occurred_at -> Timestamptz,
        actor_type -> Text,
        actor_id -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
    }
}

diesel::table! {
    balance_confirmations (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        as_of -> Date,
        balances -> Jsonb,
        comment -> Nullable<Text>,
        confirmed_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    bank_accounts (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        account_id -> Text,
        #[max_length = 3]
        currency -> Bpchar,
        bank_name -> Nullable<Text>,
        name -> Nullable<Text>,
        csv_mapping -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        bic -> Nullable<Text>,
    }
}

diesel::table! {
    bank_import_settings (tenant_id) {
        tenant_id -> Uuid,
        register_accounts -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    bank_lines (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        bank_account_id -> Uuid,
        statement_id -> Uuid,
        bank_reference -> Nullable<Text>,
        dedupe_key -> Text,
        booking_date -> Date,
        value_date -> Nullable<Date>,
        amount -> Numeric,
        #[max_length = 3]
        currency -> Bpchar,
        counterparty_name -> Nullable<Text>,
        counterparty_iban -> Nullable<Text>,
        remittance -> Nullable<Text>,
        creditor_reference -> Nullable<Text>,
        end_to_end_id -> Nullable<Text>,
        bank_transaction_code -> Nullable<Text>,
        reversal -> Bool,
        charges -> Nullable<Numeric>,
        status -> Text,
        applied_amount -> Numeric,
        created_at -> Timestamptz,
        counterparty_account -> Nullable<Text>,
        additional_info -> Nullable<Text>,
    }
}

diesel::table! {
    bank_statements (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        format -> Text,
        file_sha256 -> Text,
        file_bytes -> Int8,
        statements -> Jsonb,
        lines_imported -> Int4,
        duplicates_skipped -> Int4,
        warnings -> Jsonb,
        imported_at -> Timestamptz,
        actor_type -> Text,
        actor_id -> Text,
        preset -> Nullable<Text>,
        lines_not_imported -> Int4,
        duplicates -> Jsonb,
        accounts_created -> Jsonb,
    }
}

diesel::table! {
    connector_push_secrets (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        connector_id -> Uuid,
        sealed_secret -> Bytea,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    connector_syncs (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        connector_id -> Uuid,
        status -> Text,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        pages -> Int4,
        created -> Int4,
        updated -> Int4,
        skipped -> Int4,
        rejected -> Jsonb,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    connectors (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        connector_type -> Text,
        name -> Text,
        config -> Jsonb,
        credentials -> Nullable<Bytea>,
        schedule_seconds -> Int4,
        sync_cursor -> Jsonb,
        enabled -> Bool,
        next_run_at -> Nullable<Timestamptz>,
        lease_owner -> Nullable<Uuid>,
        lease_until -> Nullable<Timestamptz>,
        consecutive_failures -> Int4,
        last_status -> Nullable<Text>,
        last_error -> Nullable<Text>,
        last_sync_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    customer_contacts (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        name -> Text,
        role -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        address_lines -> Array<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        #[max_length = 2]
        country -> Nullable<Bpchar>,
        for_statements -> Bool,
        for_dunning -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    customer_dunning (customer_id) {
        customer_id -> Uuid,
        tenant_id -> Uuid,
        level_code -> Nullable<Text>,
        since -> Nullable<Date>,
        last_action_on -> Nullable<Date>,
        credit_hold -> Bool,
        updated_at -> Timestamptz,
        escalation -> Int4,
    }
}

diesel::table! {
    customer_statement_lines (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        statement_id -> Uuid,
        line_no -> Int4,
        their_ref -> Text,
        our_ref -> Nullable<Text>,
        entry_date -> Date,
        kind -> Text,
        amount -> Numeric,
        #[max_length = 3]
        currency -> Bpchar,
        matched_ref -> Nullable<Text>,
        match_rule -> Nullable<Text>,
        text -> Text,
        kind_inferred -> Bool,
        match_explanation -> Nullable<Text>,
    }
}

diesel::table! {
    customer_statement_mappings (customer_id) {
        customer_id -> Uuid,
        tenant_id -> Uuid,
        mapping -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    customer_statements (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        period_from -> Nullable<Date>,
        period_to -> Nullable<Date>,
        source -> Text,
        lines_count -> Int4,
        matched_count -> Int4,
        differences_count -> Int4,
        date_tolerance_days -> Int4,
        balances -> Jsonb,
        received_at -> Timestamptz,
        actor_type -> Text,
        actor_id -> Text,
        notes -> Jsonb,
    }
}

diesel::table! {
    customer_group_members (tenant_id, customer_id) {
        tenant_id -> Uuid,
        customer_id -> Uuid,
        group_id -> Uuid,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    customer_groups (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        code -> Text,
        name -> Text,
        parent_customer_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    customers (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        code -> Text,
        name -> Text,
        aliases -> Array<Text>,
        #[max_length = 2]
        country -> Nullable<Bpchar>,
        bank_accounts -> Array<Text>,
        email -> Nullable<Text>,
        #[max_length = 3]
        default_currency -> Nullable<Bpchar>,
        payment_terms_days -> Nullable<Int4>,
        credit_limit -> Nullable<Numeric>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        bank_account_hashes -> Nullable<Array<Text>>,
        owner_user_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    difference_comments (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        difference_id -> Uuid,
        author_type -> Text,
        author_id -> Text,
        body -> Text,
        attachments -> Jsonb,
        status_change -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    differences (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        statement_id -> Uuid,
        kind -> Text,
        status -> Text,
        our_document_id -> Nullable<Uuid>,
        our_ref -> Nullable<Text>,
        their_ref -> Nullable<Text>,
        our_amount -> Nullable<Numeric>,
        their_amount -> Nullable<Numeric>,
        #[max_length = 3]
        currency -> Bpchar,
        our_date -> Nullable<Date>,
        their_date -> Nullable<Date>,
        explanation -> Text,
        balance_effect -> Numeric,
        fingerprint -> Text,
        resolution_note -> Nullable<Text>,
        adjustment_document_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        cause -> Nullable<Text>,
        sub_cause -> Nullable<Text>,
        cause_source -> Nullable<Text>,
        cause_explanation -> Nullable<Text>,
    }
}

diesel::table! {
    document_lines (tenant_id, document_id, line_no) {
        tenant_id -> Uuid,
        document_id -> Uuid,
        line_no -> Int4,
        product_id -> Nullable<Uuid>,
        description -> Text,
        quantity -> Numeric,
        unit -> Nullable<Text>,
        unit_price -> Numeric,
        discount -> Numeric,
        discount_percent -> Numeric,
        tax_rate -> Numeric,
        net -> Numeric,
        tax -> Numeric,
        gross -> Numeric,
        tax_flags -> Jsonb,
    }
}

diesel::table! {
    document_settings (tenant_id) {
        tenant_id -> Uuid,
        tax_rounding -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    document_instalments (tenant_id, document_id, seq) {
        tenant_id -> Uuid,
        document_id -> Uuid,
        seq -> Int4,
        due_date -> Date,
        amount -> Numeric,
    }
}

diesel::table! {
    documents (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        doc_type -> Text,
        doc_no -> Text,
        issue_date -> Date,
        due_date -> Nullable<Date>,
        #[max_length = 3]
        currency -> Bpchar,
        amount -> Numeric,
        open_amount -> Numeric,
        external_reference -> Nullable<Text>,
        source_system -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        cancelled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    dunning_actions (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        run_id -> Uuid,
        customer_id -> Uuid,
        kind -> Text,
        level_code -> Nullable<Text>,
        previous_level -> Nullable<Text>,
        action -> Nullable<Text>,
        days_overdue -> Int4,
        overdue_amount -> Numeric,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    dunning_assignments (run_id, customer_id, currency) {
        run_id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        #[max_length = 3]
        currency -> Bpchar,
        level_code -> Text,
        days_overdue -> Int4,
        overdue_amount -> Numeric,
    }
}

diesel::table! {
    dunning_levels (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        code -> Text,
        name -> Text,
        severity -> Int4,
        min_days_overdue -> Int4,
        min_amount -> Numeric,
        action -> Text,
        repeat_every_days -> Nullable<Int4>,
        credit_hold -> Bool,
        created_at -> Timestamptz,
        actions -> Array<Text>,
    }
}

diesel::table! {
    dunning_runs (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        as_of -> Date,
        customers_at_level -> Int4,
        level_changes -> Int4,
        reminders_due -> Int4,
        created_at -> Timestamptz,
        actor_type -> Text,
        actor_id -> Text,
    }
}

diesel::table! {
    fx_rates (tenant_id, from_currency, to_currency, valid_on) {
        tenant_id -> Uuid,
        #[max_length = 3]
        from_currency -> Bpchar,
        #[max_length = 3]
        to_currency -> Bpchar,
        valid_on -> Date,
        rate -> Numeric,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, idempotency_key) {
        tenant_id -> Uuid,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Nullable<Int2>,
        response_body -> Nullable<Bytea>,
        content_type -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    import_mappings (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        kind -> Text,
        name -> Text,
        mapping -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    inbound_messages (tenant_id, message_id) {
        tenant_id -> Uuid,
        message_id -> Text,
        statement_id -> Nullable<Uuid>,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    inbound_secrets (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        secret -> Text,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    matching_settings (tenant_id) {
        tenant_id -> Uuid,
        auto_apply_threshold -> Numeric,
        tolerance_percent -> Numeric,
        tolerance_absolute -> Numeric,
        fx_tolerance_percent -> Numeric,
        auto_apply_oldest_first -> Bool,
        updated_at -> Timestamptz,
        learning_enabled -> Bool,
        learned_iban_min_confirmations -> Int4,
        learned_name_min_confirmations -> Int4,
        learned_combined_min_confirmations -> Int4,
    }
}

diesel::table! {
    learned_facts (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        kind -> Text,
        key -> Text,
        customer_id -> Uuid,
        confirmations -> Int4,
        rejections -> Int4,
        last_confirmed_at -> Nullable<Timestamptz>,
        last_confirmed_by -> Nullable<Text>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    learned_fact_sources (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        fact_id -> Uuid,
        how -> Text,
        bank_line_id -> Uuid,
        allocation_id -> Uuid,
        actor -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Nullable<Uuid>,
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        dispatched_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    portal_tokens (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        created_by -> Text,
    }
}

diesel::table! {
    products (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        code -> Text,
        name -> Text,
        kind -> Text,
        unit -> Nullable<Text>,
        default_price -> Nullable<Numeric>,
        #[max_length = 3]
        currency -> Nullable<Bpchar>,
        tax_rate -> Nullable<Numeric>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        tax_rate_history -> Jsonb,
    }
}

diesel::table! {
    reconciliation_runs (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        status -> Text,
        bank_account_id -> Nullable<Uuid>,
        booked_from -> Nullable<Date>,
        booked_to -> Nullable<Date>,
        lines_total -> Int4,
        lines_processed -> Int4,
        auto_applied -> Int4,
        proposed -> Int4,
        unmatched -> Int4,
        error -> Nullable<Text>,
        attempts -> Int4,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        actor_type -> Text,
        actor_id -> Text,
        heartbeat_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    statement_run_items (run_id, customer_id) {
        run_id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        done -> Bool,
        closing_balances -> Nullable<Jsonb>,
        lines -> Nullable<Int4>,
    }
}

diesel::table! {
    statement_runs (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        status -> Text,
        period_from -> Date,
        period_to -> Date,
        customers_total -> Int4,
        customers_done -> Int4,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        actor_type -> Text,
        actor_id -> Text,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        name -> Text,
        #[max_length = 3]
        base_currency -> Bpchar,
        created_at -> Timestamptz,
        slug -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
        token_version -> Int4,
        deleted_at -> Nullable<Timestamptz>,
        password_changed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        delivery_id -> Uuid,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        duration_ms -> Nullable<Int4>,
        status_code -> Nullable<Int4>,
        response_excerpt -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        status -> Text,
        attempts -> Int4,
        schedule_attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Nullable<Uuid>,
        url -> Text,
        description -> Text,
        event_types -> Array<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_settings (tenant_id) {
        tenant_id -> Uuid,
        allow_private_targets -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    work_order_comments (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        work_order_id -> Uuid,
        author_type -> Text,
        author_id -> Text,
        body -> Text,
        visible_to_customer -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    work_order_differences (tenant_id, work_order_id, difference_id) {
        tenant_id -> Uuid,
        work_order_id -> Uuid,
        difference_id -> Uuid,
    }
}

diesel::table! {
    work_order_documents (tenant_id, work_order_id, document_id) {
        tenant_id -> Uuid,
        work_order_id -> Uuid,
        document_id -> Uuid,
    }
}

diesel::table! {
    work_order_settings (tenant_id) {
        tenant_id -> Uuid,
        technical_hours -> Int4,
        process_hours -> Int4,
        dispute_hours -> Int4,
        unclassified_hours -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    work_orders (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        title -> Text,
        customer_id -> Nullable<Uuid>,
        assignee_id -> Nullable<Uuid>,
        priority -> Text,
        cause -> Nullable<Text>,
        status -> Text,
        due_at -> Timestamptz,
        visible_to_customer -> Bool,
        dispute_difference_id -> Nullable<Uuid>,
        created_by_type -> Text,
        created_by_id -> Text,
        overdue_notified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    write_offs (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        allocation_id -> Uuid,
        document_id -> Uuid,
        amount -> Numeric,
        #[max_length = 3]
        currency -> Bpchar,
        reason -> Text,
        created_at -> Timestamptz,
        reversed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    collection_settings (tenant_id) {
        tenant_id -> Uuid,
        assignment -> Text,
        team -> Array<Uuid>,
        round_robin_next -> Int4,
        task_due_days -> Int4,
        broken_promise_action -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    collection_tasks (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        kind -> Text,
        status -> Text,
        source -> Text,
        assignee_user_id -> Nullable<Uuid>,
        due_on -> Date,
        level_code -> Nullable<Text>,
        run_id -> Nullable<Uuid>,
        promise_id -> Nullable<Uuid>,
        reason -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    contact_log (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        task_id -> Nullable<Uuid>,
        contact_id -> Nullable<Uuid>,
        channel -> Text,
        outcome -> Text,
        note -> Nullable<Text>,
        contacted_on -> Date,
        actor_type -> Text,
        actor_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payment_promises (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        contact_log_id -> Uuid,
        made_on -> Date,
        promised_date -> Date,
        amount -> Numeric,
        #[max_length = 3]
        currency -> Bpchar,
        status -> Text,
        paid_amount -> Numeric,
        resolved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    credit_policies (customer_id) {
        customer_id -> Uuid,
        tenant_id -> Uuid,
        prepayment_required -> Bool,
        prepayment_set_by -> Nullable<Text>,
        hold -> Bool,
        hold_reason -> Nullable<Text>,
        hold_set_by -> Nullable<Text>,
        updated_at -> Timestamptz,
        credit_limit_set_by -> Nullable<Text>,
        credit_limit_before -> Nullable<Numeric>,
        payment_terms_set_by -> Nullable<Text>,
        payment_terms_before -> Nullable<Int4>,
    }
}

diesel::table! {
    credit_policy_changes (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        customer_id -> Uuid,
        changes -> Jsonb,
        explanation -> Text,
        source_type -> Text,
        source_id -> Text,
        run_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    credit_rules (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        position -> Int4,
        code -> Text,
        definition -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    matching_rules (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        position -> Nullable<Int4>,
        enabled -> Bool,
        version -> Int4,
        definition -> Jsonb,
        template -> Nullable<Text>,
        retired_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    matching_rule_versions (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        rule_id -> Uuid,
        version -> Int4,
        name -> Text,
        enabled -> Bool,
        definition -> Jsonb,
        changed_by_type -> Text,
        changed_by_id -> Text,
        changed_at -> Timestamptz,
        description -> Nullable<Text>,
    }
}

diesel::joinable!(allocations -> bank_lines (bank_line_id));
diesel::joinable!(allocations -> documents (document_id));
diesel::joinable!(allocations -> reconciliation_runs (run_id));
diesel::joinable!(allocations -> tenants (tenant_id));
diesel::joinable!(api_keys -> connectors (connector_id));
diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(audit_chain_heads -> tenants (tenant_id));
diesel::joinable!(audit_log -> tenants (tenant_id));
diesel::joinable!(document_instalments -> documents (document_id));
diesel::joinable!(balance_confirmations -> customers (customer_id));
diesel::joinable!(balance_confirmations -> tenants (tenant_id));
diesel::joinable!(bank_accounts -> tenants (tenant_id));
diesel::joinable!(bank_import_settings -> tenants (tenant_id));
diesel::joinable!(bank_lines -> bank_accounts (bank_account_id));
diesel::joinable!(bank_lines -> bank_statements (statement_id));
diesel::joinable!(bank_lines -> tenants (tenant_id));
diesel::joinable!(bank_statements -> tenants (tenant_id));
diesel::joinable!(connector_push_secrets -> connectors (connector_id));
diesel::joinable!(connector_push_secrets -> tenants (tenant_id));
diesel::joinable!(connector_syncs -> connectors (connector_id));
diesel::joinable!(connector_syncs -> tenants (tenant_id));
diesel::joinable!(connectors -> tenants (tenant_id));
diesel::joinable!(customer_dunning -> customers (customer_id));
diesel::joinable!(customer_dunning -> tenants (tenant_id));
diesel::joinable!(customer_statement_lines -> customer_statements (statement_id));
diesel::joinable!(customer_statement_lines -> tenants (tenant_id));
diesel::joinable!(customer_statement_mappings -> customers (customer_id));
diesel::joinable!(customer_statement_mappings -> tenants (tenant_id));
diesel::joinable!(customer_statements -> customers (customer_id));
diesel::joinable!(customer_statements -> tenants (tenant_id));
diesel::joinable!(customers -> tenants (tenant_id));
diesel::joinable!(difference_comments -> differences (difference_id));
diesel::joinable!(difference_comments -> tenants (tenant_id));
diesel::joinable!(differences -> customer_statements (statement_id));
diesel::joinable!(differences -> customers (customer_id));
diesel::joinable!(differences -> tenants (tenant_id));
diesel::joinable!(document_lines -> documents (document_id));
diesel::joinable!(document_lines -> products (product_id));
diesel::joinable!(document_settings -> tenants (tenant_id));
diesel::joinable!(documents -> customers (customer_id));
diesel::joinable!(documents -> tenants (tenant_id));
diesel::joinable!(dunning_actions -> customers (customer_id));
diesel::joinable!(dunning_actions -> dunning_runs (run_id));
diesel::joinable!(dunning_actions -> tenants (tenant_id));
diesel::joinable!(dunning_assignments -> customers (customer_id));
diesel::joinable!(dunning_assignments -> dunning_runs (run_id));
diesel::joinable!(dunning_assignments -> tenants (tenant_id));
diesel::joinable!(dunning_levels -> tenants (tenant_id));
diesel::joinable!(dunning_runs -> tenants (tenant_id));
diesel::joinable!(fx_rates -> tenants (tenant_id));
diesel::joinable!(idempotency_keys -> tenants (tenant_id));
diesel::joinable!(import_mappings -> tenants (tenant_id));
diesel::joinable!(inbound_messages -> customer_statements (statement_id));
diesel::joinable!(inbound_messages -> tenants (tenant_id));
diesel::joinable!(inbound_secrets -> customers (customer_id));
diesel::joinable!(inbound_secrets -> tenants (tenant_id));
diesel::joinable!(matching_settings -> tenants (tenant_id));
diesel::joinable!(outbox_events -> customers (customer_id));
diesel::joinable!(outbox_events -> tenants (tenant_id));
diesel::joinable!(password_reset_tokens -> tenants (tenant_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(portal_tokens -> customers (customer_id));
diesel::joinable!(portal_tokens -> tenants (tenant_id));
diesel::joinable!(reconciliation_runs -> bank_accounts (bank_account_id));
diesel::joinable!(reconciliation_runs -> tenants (tenant_id));
diesel::joinable!(statement_run_items -> customers (customer_id));
diesel::joinable!(statement_run_items -> statement_runs (run_id));
diesel::joinable!(statement_run_items -> tenants (tenant_id));
diesel::joinable!(statement_runs -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(webhook_attempts -> tenants (tenant_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> outbox_events (event_id));
diesel::joinable!(webhook_deliveries -> tenants (tenant_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> customers (customer_id));
diesel::joinable!(webhook_endpoints -> tenants (tenant_id));
diesel::joinable!(webhook_settings -> tenants (tenant_id));
diesel::joinable!(work_orders -> customers (customer_id));
diesel::joinable!(work_order_differences -> work_orders (work_order_id));
diesel::joinable!(work_order_documents -> work_orders (work_order_id));
diesel::joinable!(work_order_comments -> work_orders (work_order_id));
diesel::joinable!(write_offs -> allocations (allocation_id));
diesel::joinable!(write_offs -> documents (document_id));
diesel::joinable!(products -> tenants (tenant_id));
diesel::joinable!(write_offs -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    learned_facts,
    learned_fact_sources,
    matching_rules,
    matching_rule_versions,
    collection_settings,
    collection_tasks,
    contact_log,
    payment_promises,
    credit_policies,
    credit_policy_changes,
    credit_rules,
    allocations,
    api_keys,
    audit_chain_heads,
    audit_log,
    audit_pending,
    balance_confirmations,
    bank_accounts,
    bank_import_settings,
    bank_lines,
    bank_statements,
    connector_push_secrets,
    connector_syncs,
    connectors,
    customer_contacts,
    customer_dunning,
    customer_group_members,
    customer_groups,
    customer_statement_lines,
    customer_statement_mappings,
    customer_statements,
    customers,
    difference_comments,
    differences,
    document_lines,
    document_settings,
    document_instalments,
    documents,
    dunning_actions,
    dunning_assignments,
    dunning_levels,
    dunning_runs,
    fx_rates,
    idempotency_keys,
    import_mappings,
    inbound_messages,
    inbound_secrets,
    matching_settings,
    outbox_events,
    password_reset_tokens,
    portal_tokens,
    products,
    reconciliation_runs,
    statement_run_items,
    statement_runs,
    tenants,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_settings,
    work_order_comments,
    work_order_differences,
    work_order_documents,
    work_order_settings,
    work_orders,
    write_offs,
);
