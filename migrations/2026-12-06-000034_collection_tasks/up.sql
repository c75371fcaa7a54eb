-- Collections as teamwork: the actions of each dunning level become tasks for people, assigned
-- by a tenant rule (the customer's owner, or round robin over a team); every contact with a
-- customer is logged with its outcome, and promises to pay are tracked until kept or broken.

-- A level's actions, each becoming a task when the level is reached or its repeat is due. The
-- single `action` stays for compatibility (reminder maps to email).
ALTER TABLE dunning_levels ADD COLUMN actions TEXT[] NOT NULL DEFAULT '{}'
    CHECK (actions <@ ARRAY['call', 'email', 'letter', 'legal_letter', 'stop_supply']::text[]);
UPDATE dunning_levels SET actions = ARRAY[CASE action WHEN 'reminder' THEN 'email' ELSE action END];

-- Steps above the level the overdue items give, added by broken promises (tenant setting
-- `broken_promise_action = raise_level`); back to 0 when the customer leaves all levels.
ALTER TABLE customer_dunning ADD COLUMN escalation INTEGER NOT NULL DEFAULT 0 CHECK (escalation >= 0);

-- The person who looks after the customer (collection tasks go to them first).
ALTER TABLE customers ADD COLUMN owner_user_id UUID;
ALTER TABLE customers ADD CONSTRAINT customers_tenant_id_owner_user_id_fkey
    FOREIGN KEY (tenant_id, owner_user_id) REFERENCES users (tenant_id, id);

CREATE TABLE collection_settings (
    tenant_id              UUID PRIMARY KEY REFERENCES tenants(id),
    -- customer_owner: the customer's owner, else round robin over the team; round_robin: always the team.
    assignment             TEXT NOT NULL CHECK (assignment IN ('customer_owner', 'round_robin')),
    team                   UUID[] NOT NULL DEFAULT '{}',
    -- Index into `team` of the next round-robin assignee (advanced under the dunning lock).
    round_robin_next       INTEGER NOT NULL DEFAULT 0 CHECK (round_robin_next >= 0),
    -- Days from the run (or the broken promise) to a task's due date.
    task_due_days          INTEGER NOT NULL DEFAULT 3 CHECK (task_due_days BETWEEN 0 AND 365),
    broken_promise_action  TEXT NOT NULL CHECK (broken_promise_action IN ('follow_up_task', 'raise_level')),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE collection_tasks (
    id                UUID NOT NULL,
    tenant_id         UUID NOT NULL REFERENCES tenants(id),
    customer_id       UUID NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('call', 'email', 'letter', 'legal_letter', 'stop_supply')),
    status            TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    -- level_reached | level_repeat | broken_promise
    source            TEXT NOT NULL CHECK (source IN ('level_reached', 'level_repeat', 'broken_promise')),
    assignee_user_id  UUID,
    due_on            DATE NOT NULL,
    level_code        TEXT,
    run_id            UUID,
    promise_id        UUID,
    reason            TEXT NOT NULL,
    note              TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_at         TIMESTAMPTZ,
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES dunning_runs (tenant_id, id)
);
CREATE INDEX collection_tasks_tenant ON collection_tasks (tenant_id, id);
CREATE INDEX collection_tasks_assignee ON collection_tasks (tenant_id, assignee_user_id, status, due_on);
CREATE INDEX collection_tasks_customer ON collection_tasks (tenant_id, customer_id, id);

CREATE TABLE contact_log (
    id           UUID NOT NULL,
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    customer_id  UUID NOT NULL,
    task_id      UUID,
    contact_id   UUID,
    channel      TEXT NOT NULL CHECK (channel IN ('phone', 'email', 'letter', 'visit', 'portal', 'other')),
    outcome      TEXT NOT NULL CHECK (outcome IN ('reached', 'promise_to_pay', 'refused', 'wrong_contact', 'no_answer')),
    note         TEXT,
    contacted_on DATE NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, task_id) REFERENCES collection_tasks (tenant_id, id),
    -- A contact person removed (or erased) leaves the entry without one.
    FOREIGN KEY (tenant_id, contact_id) REFERENCES customer_contacts (tenant_id, id) ON DELETE SET NULL (contact_id)
);
CREATE INDEX contact_log_customer ON contact_log (tenant_id, customer_id, id);

CREATE TABLE payment_promises (
    id              UUID NOT NULL,
    tenant_id       UUID NOT NULL REFERENCES tenants(id),
    customer_id     UUID NOT NULL,
    contact_log_id  UUID NOT NULL,
    -- Payments booked from this day up to `promised_date` count toward the promise.
    made_on         DATE NOT NULL,
    promised_date   DATE NOT NULL,
    amount          NUMERIC(20, 4) NOT NULL CHECK (amount > 0),
    currency        CHAR(3) NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'kept', 'partially_kept', 'broken')),
    paid_amount     NUMERIC(20, 4) NOT NULL DEFAULT 0,
    resolved_at     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (made_on <= promised_date),
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_log_id) REFERENCES contact_log (tenant_id, id)
);
CREATE INDEX payment_promises_customer ON payment_promises (tenant_id, customer_id, id);
CREATE INDEX payment_promises_pending ON payment_promises (tenant_id, promised_date) WHERE status = 'pending';
