-- A database as telecast's start-up code made it before migrations (commit d4dfd5d): every
-- service started once on an empty database (CREATE TABLE IF NOT EXISTS and ALTER TABLE …
-- ADD COLUMN IF NOT EXISTS at start; the event store by eventsourcing 9.5.6 with
-- CREATE_TABLE on). Made with pg_dump --schema-only --no-owner --no-privileges; the tests
-- in this folder check that the migrations adopt such a database without loss.
--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: campaign; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA campaign;


--
-- Name: dispatcher; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA dispatcher;


--
-- Name: gateway; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA gateway;


--
-- Name: projection; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA projection;


--
-- Name: telegram_sim; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA telegram_sim;


--
-- Name: stored_event_uuid; Type: TYPE; Schema: campaign; Owner: -
--

CREATE TYPE campaign.stored_event_uuid AS (
	originator_id uuid,
	originator_version bigint,
	topic text,
	state bytea
);


--
-- Name: es_insert_events_uuid(campaign.stored_event_uuid[]); Type: FUNCTION; Schema: campaign; Owner: -
--

CREATE FUNCTION campaign.es_insert_events_uuid(events campaign.stored_event_uuid[]) RETURNS SETOF bigint
    LANGUAGE plpgsql
    AS $$BEGIN    SET LOCAL lock_timeout = '5s';    NOTIFY "campaigns_events";    RETURN QUERY    INSERT INTO "campaign"."campaigns_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: campaigns_events; Type: TABLE; Schema: campaign; Owner: -
--

CREATE TABLE campaign.campaigns_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigint NOT NULL
)
WITH (autovacuum_enabled='true', autovacuum_vacuum_threshold='100000000', autovacuum_vacuum_scale_factor='0.5', autovacuum_analyze_threshold='1000', autovacuum_analyze_scale_factor='0.01');


--
-- Name: campaigns_events_notification_id_seq; Type: SEQUENCE; Schema: campaign; Owner: -
--

CREATE SEQUENCE campaign.campaigns_events_notification_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: campaigns_events_notification_id_seq; Type: SEQUENCE OWNED BY; Schema: campaign; Owner: -
--

ALTER SEQUENCE campaign.campaigns_events_notification_id_seq OWNED BY campaign.campaigns_events.notification_id;


--
-- Name: contacts; Type: TABLE; Schema: campaign; Owner: -
--

CREATE TABLE campaign.contacts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    telegram_id bigint NOT NULL,
    chat_type text DEFAULT 'private'::text NOT NULL,
    username text,
    first_name text,
    last_name text,
    language_code text,
    location text,
    age smallint,
    interests text[] DEFAULT '{}'::text[] NOT NULL,
    purchase_history boolean DEFAULT false NOT NULL,
    last_purchase timestamp with time zone,
    attributes jsonb DEFAULT '{}'::jsonb NOT NULL,
    is_test_recipient boolean DEFAULT false NOT NULL,
    opted_out boolean DEFAULT false NOT NULL,
    blocked boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, ((((COALESCE(username, ''::text) || ' '::text) || COALESCE(first_name, ''::text)) || ' '::text) || COALESCE(last_name, ''::text)))) STORED,
    CONSTRAINT contacts_chat_type_check CHECK ((chat_type = ANY (ARRAY['private'::text, 'group'::text, 'supergroup'::text, 'channel'::text])))
);


--
-- Name: relay_position; Type: TABLE; Schema: campaign; Owner: -
--

CREATE TABLE campaign.relay_position (
    id boolean DEFAULT true NOT NULL,
    "position" bigint NOT NULL,
    CONSTRAINT relay_position_id_check CHECK (id)
);


--
-- Name: schedule; Type: TABLE; Schema: campaign; Owner: -
--

CREATE TABLE campaign.schedule (
    campaign_id uuid NOT NULL,
    kind text NOT NULL,
    due_at timestamp with time zone NOT NULL,
    CONSTRAINT schedule_kind_check CHECK ((kind = ANY (ARRAY['start'::text, 'end'::text])))
);


--
-- Name: schedule_position; Type: TABLE; Schema: campaign; Owner: -
--

CREATE TABLE campaign.schedule_position (
    id boolean DEFAULT true NOT NULL,
    "position" bigint NOT NULL,
    CONSTRAINT schedule_position_id_check CHECK (id)
);


--
-- Name: account_states; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.account_states (
    account text NOT NULL,
    state text NOT NULL,
    code text NOT NULL,
    detail text,
    since timestamp with time zone NOT NULL
);


--
-- Name: campaign_facts; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.campaign_facts (
    campaign_id uuid NOT NULL,
    version integer NOT NULL,
    type text,
    budget double precision,
    invitation jsonb
);


--
-- Name: checkpoints; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.checkpoints (
    consumer text NOT NULL,
    stream_seq bigint NOT NULL,
    "position" bigint NOT NULL
);


--
-- Name: deliveries; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.deliveries (
    execution_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    step smallint NOT NULL,
    campaign_id uuid NOT NULL,
    item_no integer NOT NULL,
    telegram_id bigint NOT NULL,
    chat_kind text NOT NULL,
    message_id text NOT NULL,
    variation_id text,
    segment_ids text[] DEFAULT '{}'::text[] NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    claim uuid,
    attempts smallint DEFAULT 0 NOT NULL,
    code text,
    detail text,
    account text,
    telegram_message_id bigint,
    cost double precision DEFAULT 0 NOT NULL,
    finished_at timestamp with time zone,
    published boolean DEFAULT false NOT NULL
);


--
-- Name: executions; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.executions (
    execution_id uuid NOT NULL,
    campaign_id uuid NOT NULL,
    priority text NOT NULL,
    test_mode boolean NOT NULL,
    campaign_type text,
    messages jsonb NOT NULL,
    budget double precision,
    invitation jsonb,
    correlation_id text,
    campaign_state text NOT NULL,
    campaign_version integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    planning_after text,
    planning_done boolean DEFAULT false NOT NULL,
    planned_items integer DEFAULT 0 NOT NULL,
    planned_recipients bigint DEFAULT 0 NOT NULL,
    planned_at timestamp with time zone,
    planned_published boolean DEFAULT false NOT NULL,
    sent bigint DEFAULT 0 NOT NULL,
    failed bigint DEFAULT 0 NOT NULL,
    guard_sent bigint DEFAULT 0 NOT NULL,
    guard_failed bigint DEFAULT 0 NOT NULL,
    guard_code text,
    guard_reason text,
    failure_code text,
    finished_at timestamp with time zone,
    told_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: interaction_firsts; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.interaction_firsts (
    campaign_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    type text NOT NULL
);


--
-- Name: interactions; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.interactions (
    id uuid NOT NULL,
    type text NOT NULL,
    campaign_id uuid NOT NULL,
    execution_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    telegram_id bigint NOT NULL,
    message_id text,
    variation_id text,
    arms jsonb DEFAULT '[]'::jsonb NOT NULL,
    segment_ids text[] DEFAULT '{}'::text[] NOT NULL,
    url text,
    conversion_id text,
    revenue double precision DEFAULT 0 NOT NULL,
    first boolean NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    correlation_id text,
    published boolean DEFAULT false NOT NULL
);


--
-- Name: webhook_attempts; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.webhook_attempts (
    delivery_id uuid NOT NULL,
    attempt integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    latency_ms double precision NOT NULL,
    status_code integer,
    error text,
    response_excerpt text,
    next_attempt_at timestamp with time zone
);


--
-- Name: webhook_campaigns; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.webhook_campaigns (
    id text NOT NULL,
    version integer NOT NULL,
    facts jsonb NOT NULL
);


--
-- Name: webhook_deliveries; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.webhook_deliveries (
    id uuid NOT NULL,
    subscription_id uuid NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    kind text NOT NULL,
    campaign_id text,
    lane text NOT NULL,
    seq bigint NOT NULL,
    body bytea NOT NULL,
    correlation_id text,
    status text NOT NULL,
    head boolean DEFAULT false NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    round_attempts integer DEFAULT 0 NOT NULL,
    round_started_at timestamp with time zone NOT NULL,
    next_attempt_at timestamp with time zone,
    last_status_code integer,
    last_error text,
    last_latency_ms double precision,
    created_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone
);


--
-- Name: webhook_subscriptions; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.webhook_subscriptions (
    id uuid NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    campaign_ids text[],
    description text,
    active boolean NOT NULL,
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamp with time zone,
    secret_rotated_at timestamp with time zone,
    disabled_reason text,
    disabled_at timestamp with time zone,
    consecutive_failures integer DEFAULT 0 NOT NULL,
    failing_since timestamp with time zone,
    last_success_at timestamp with time zone,
    created_by text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: work_items; Type: TABLE; Schema: dispatcher; Owner: -
--

CREATE TABLE dispatcher.work_items (
    execution_id uuid NOT NULL,
    item_no integer NOT NULL,
    after_id uuid,
    upto_id uuid NOT NULL,
    recipients integer NOT NULL,
    state text DEFAULT 'queued'::text NOT NULL,
    generation integer DEFAULT 0 NOT NULL,
    published boolean DEFAULT false NOT NULL
);


--
-- Name: idempotency_keys; Type: TABLE; Schema: gateway; Owner: -
--

CREATE TABLE gateway.idempotency_keys (
    operator_id text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: operators; Type: TABLE; Schema: gateway; Owner: -
--

CREATE TABLE gateway.operators (
    id uuid NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    credentials_version integer DEFAULT 1 NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    must_change_password boolean DEFAULT false NOT NULL,
    CONSTRAINT operators_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'manager'::text, 'viewer'::text])))
);


--
-- Name: refresh_tokens; Type: TABLE; Schema: gateway; Owner: -
--

CREATE TABLE gateway.refresh_tokens (
    token_hash bytea NOT NULL,
    family_id uuid NOT NULL,
    operator_id uuid NOT NULL,
    issued_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    rotated_at timestamp with time zone,
    revoked_at timestamp with time zone
);


--
-- Name: campaigns; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.campaigns (
    id uuid NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    description text,
    type text NOT NULL,
    status text NOT NULL,
    budget double precision,
    start_date timestamp with time zone,
    end_date timestamp with time zone,
    created_by text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    deleted_at timestamp with time zone,
    content jsonb NOT NULL,
    execution jsonb,
    cloned_from text,
    audience_count jsonb,
    baseline jsonb,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, ((name || ' '::text) || COALESCE(description, ''::text)))) STORED
);


--
-- Name: checkpoints; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.checkpoints (
    consumer text NOT NULL,
    stream_seq bigint NOT NULL,
    "position" bigint NOT NULL
);


--
-- Name: delivery_applied; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.delivery_applied (
    id text NOT NULL
);


--
-- Name: delivery_errors; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.delivery_errors (
    campaign_id uuid NOT NULL,
    code text NOT NULL,
    message text NOT NULL,
    count bigint NOT NULL
);


--
-- Name: delivery_hours; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.delivery_hours (
    campaign_id uuid NOT NULL,
    hour timestamp with time zone NOT NULL,
    processed bigint NOT NULL,
    delivered bigint NOT NULL,
    failed bigint NOT NULL,
    reads bigint NOT NULL,
    clicks bigint NOT NULL,
    conversions bigint NOT NULL,
    revenue double precision NOT NULL,
    delivered_recipients bigint NOT NULL,
    readers bigint NOT NULL,
    clickers bigint NOT NULL,
    converters bigint NOT NULL
);


--
-- Name: delivery_seconds; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.delivery_seconds (
    campaign_id uuid NOT NULL,
    second timestamp with time zone NOT NULL,
    processed bigint NOT NULL
);


--
-- Name: delivery_segments; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.delivery_segments (
    campaign_id uuid NOT NULL,
    segment_id text NOT NULL,
    hour timestamp with time zone NOT NULL,
    delivered bigint NOT NULL,
    recipients bigint NOT NULL,
    converters bigint NOT NULL,
    revenue double precision NOT NULL
);


--
-- Name: delivery_stats; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.delivery_stats (
    campaign_id uuid NOT NULL,
    execution_id uuid,
    planned_recipients bigint,
    planned_deliveries bigint,
    processed bigint DEFAULT 0 NOT NULL,
    delivered bigint DEFAULT 0 NOT NULL,
    delivered_recipients bigint DEFAULT 0 NOT NULL,
    failed bigint DEFAULT 0 NOT NULL,
    reads bigint DEFAULT 0 NOT NULL,
    readers bigint DEFAULT 0 NOT NULL,
    clicks bigint DEFAULT 0 NOT NULL,
    clickers bigint DEFAULT 0 NOT NULL,
    conversions bigint DEFAULT 0 NOT NULL,
    converters bigint DEFAULT 0 NOT NULL,
    revenue double precision DEFAULT 0 NOT NULL,
    cost double precision DEFAULT 0 NOT NULL,
    first_at timestamp with time zone,
    last_at timestamp with time zone
);


--
-- Name: delivery_variations; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.delivery_variations (
    campaign_id uuid NOT NULL,
    message_id text NOT NULL,
    variation_id text NOT NULL,
    delivered bigint NOT NULL,
    recipients bigint NOT NULL,
    failed bigint NOT NULL,
    clickers bigint NOT NULL,
    converters bigint NOT NULL,
    revenue double precision NOT NULL
);


--
-- Name: read_model_version; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.read_model_version (
    version integer NOT NULL
);


--
-- Name: segments; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.segments (
    id uuid NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    description text,
    filter jsonb NOT NULL,
    created_by text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    deleted_at timestamp with time zone,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, ((name || ' '::text) || COALESCE(description, ''::text)))) STORED
);


--
-- Name: templates; Type: TABLE; Schema: projection; Owner: -
--

CREATE TABLE projection.templates (
    id uuid NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    content jsonb NOT NULL,
    created_by text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    deleted_at timestamp with time zone,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, ((name || ' '::text) || COALESCE((content ->> 'content'::text), ''::text)))) STORED
);


--
-- Name: invites; Type: TABLE; Schema: telegram_sim; Owner: -
--

CREATE TABLE telegram_sim.invites (
    seq bigint NOT NULL,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    name text,
    expire_date timestamp with time zone,
    member_limit integer,
    join_request boolean NOT NULL,
    link text NOT NULL,
    at timestamp with time zone NOT NULL
);


--
-- Name: invites_seq_seq; Type: SEQUENCE; Schema: telegram_sim; Owner: -
--

CREATE SEQUENCE telegram_sim.invites_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: invites_seq_seq; Type: SEQUENCE OWNED BY; Schema: telegram_sim; Owner: -
--

ALTER SEQUENCE telegram_sim.invites_seq_seq OWNED BY telegram_sim.invites.seq;


--
-- Name: messages; Type: TABLE; Schema: telegram_sim; Owner: -
--

CREATE TABLE telegram_sim.messages (
    seq bigint NOT NULL,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    chat_kind text NOT NULL,
    message_id bigint NOT NULL,
    text text NOT NULL,
    parse_mode text,
    buttons jsonb NOT NULL,
    media jsonb,
    reference text NOT NULL,
    correlation_id text,
    accepted_at timestamp with time zone NOT NULL
);


--
-- Name: messages_seq_seq; Type: SEQUENCE; Schema: telegram_sim; Owner: -
--

CREATE SEQUENCE telegram_sim.messages_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: messages_seq_seq; Type: SEQUENCE OWNED BY; Schema: telegram_sim; Owner: -
--

ALTER SEQUENCE telegram_sim.messages_seq_seq OWNED BY telegram_sim.messages.seq;


--
-- Name: receipts; Type: TABLE; Schema: telegram_sim; Owner: -
--

CREATE TABLE telegram_sim.receipts (
    seq bigint NOT NULL,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    message_id bigint NOT NULL,
    kind text NOT NULL,
    url text,
    at timestamp with time zone NOT NULL
);


--
-- Name: receipts_seq_seq; Type: SEQUENCE; Schema: telegram_sim; Owner: -
--

CREATE SEQUENCE telegram_sim.receipts_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: receipts_seq_seq; Type: SEQUENCE OWNED BY; Schema: telegram_sim; Owner: -
--

ALTER SEQUENCE telegram_sim.receipts_seq_seq OWNED BY telegram_sim.receipts.seq;


--
-- Name: refusals; Type: TABLE; Schema: telegram_sim; Owner: -
--

CREATE TABLE telegram_sim.refusals (
    seq bigint NOT NULL,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    error text NOT NULL,
    value integer,
    reference text NOT NULL,
    at timestamp with time zone NOT NULL,
    over_limit boolean NOT NULL
);


--
-- Name: refusals_seq_seq; Type: SEQUENCE; Schema: telegram_sim; Owner: -
--

CREATE SEQUENCE telegram_sim.refusals_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: refusals_seq_seq; Type: SEQUENCE OWNED BY; Schema: telegram_sim; Owner: -
--

ALTER SEQUENCE telegram_sim.refusals_seq_seq OWNED BY telegram_sim.refusals.seq;


--
-- Name: violations; Type: TABLE; Schema: telegram_sim; Owner: -
--

CREATE TABLE telegram_sim.violations (
    seq bigint NOT NULL,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    kind text NOT NULL,
    at timestamp with time zone NOT NULL,
    detail text NOT NULL
);


--
-- Name: violations_seq_seq; Type: SEQUENCE; Schema: telegram_sim; Owner: -
--

CREATE SEQUENCE telegram_sim.violations_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: violations_seq_seq; Type: SEQUENCE OWNED BY; Schema: telegram_sim; Owner: -
--

ALTER SEQUENCE telegram_sim.violations_seq_seq OWNED BY telegram_sim.violations.seq;


--
-- Name: campaigns_events notification_id; Type: DEFAULT; Schema: campaign; Owner: -
--

ALTER TABLE ONLY campaign.campaigns_events ALTER COLUMN notification_id SET DEFAULT nextval('campaign.campaigns_events_notification_id_seq'::regclass);


--
-- Name: invites seq; Type: DEFAULT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.invites ALTER COLUMN seq SET DEFAULT nextval('telegram_sim.invites_seq_seq'::regclass);


--
-- Name: messages seq; Type: DEFAULT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.messages ALTER COLUMN seq SET DEFAULT nextval('telegram_sim.messages_seq_seq'::regclass);


--
-- Name: receipts seq; Type: DEFAULT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.receipts ALTER COLUMN seq SET DEFAULT nextval('telegram_sim.receipts_seq_seq'::regclass);


--
-- Name: refusals seq; Type: DEFAULT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.refusals ALTER COLUMN seq SET DEFAULT nextval('telegram_sim.refusals_seq_seq'::regclass);


--
-- Name: violations seq; Type: DEFAULT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.violations ALTER COLUMN seq SET DEFAULT nextval('telegram_sim.violations_seq_seq'::regclass);


--
-- Name: campaigns_events campaigns_events_pkey; Type: CONSTRAINT; Schema: campaign; Owner: -
--

ALTER TABLE ONLY campaign.campaigns_events
    ADD CONSTRAINT campaigns_events_pkey PRIMARY KEY (originator_id, originator_version);


--
-- Name: contacts contacts_pkey; Type: CONSTRAINT; Schema: campaign; Owner: -
--

ALTER TABLE ONLY campaign.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);


--
-- Name: contacts contacts_telegram_id_key; Type: CONSTRAINT; Schema: campaign; Owner: -
--

ALTER TABLE ONLY campaign.contacts
    ADD CONSTRAINT contacts_telegram_id_key UNIQUE (telegram_id);


--
-- Name: relay_position relay_position_pkey; Type: CONSTRAINT; Schema: campaign; Owner: -
--

ALTER TABLE ONLY campaign.relay_position
    ADD CONSTRAINT relay_position_pkey PRIMARY KEY (id);


--
-- Name: schedule schedule_pkey; Type: CONSTRAINT; Schema: campaign; Owner: -
--

ALTER TABLE ONLY campaign.schedule
    ADD CONSTRAINT schedule_pkey PRIMARY KEY (campaign_id, kind);


--
-- Name: schedule_position schedule_position_pkey; Type: CONSTRAINT; Schema: campaign; Owner: -
--

ALTER TABLE ONLY campaign.schedule_position
    ADD CONSTRAINT schedule_position_pkey PRIMARY KEY (id);


--
-- Name: account_states account_states_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.account_states
    ADD CONSTRAINT account_states_pkey PRIMARY KEY (account);


--
-- Name: campaign_facts campaign_facts_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.campaign_facts
    ADD CONSTRAINT campaign_facts_pkey PRIMARY KEY (campaign_id);


--
-- Name: checkpoints checkpoints_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.checkpoints
    ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (consumer);


--
-- Name: deliveries deliveries_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (execution_id, contact_id, step);


--
-- Name: executions executions_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.executions
    ADD CONSTRAINT executions_pkey PRIMARY KEY (execution_id);


--
-- Name: interaction_firsts interaction_firsts_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.interaction_firsts
    ADD CONSTRAINT interaction_firsts_pkey PRIMARY KEY (campaign_id, contact_id, type);


--
-- Name: interactions interactions_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.interactions
    ADD CONSTRAINT interactions_pkey PRIMARY KEY (id);


--
-- Name: webhook_attempts webhook_attempts_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.webhook_attempts
    ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (delivery_id, attempt);


--
-- Name: webhook_campaigns webhook_campaigns_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.webhook_campaigns
    ADD CONSTRAINT webhook_campaigns_pkey PRIMARY KEY (id);


--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);


--
-- Name: webhook_deliveries webhook_deliveries_subscription_id_event_id_key; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_subscription_id_event_id_key UNIQUE (subscription_id, event_id);


--
-- Name: webhook_subscriptions webhook_subscriptions_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id);


--
-- Name: work_items work_items_pkey; Type: CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.work_items
    ADD CONSTRAINT work_items_pkey PRIMARY KEY (execution_id, item_no);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: gateway; Owner: -
--

ALTER TABLE ONLY gateway.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (operator_id, key);


--
-- Name: operators operators_pkey; Type: CONSTRAINT; Schema: gateway; Owner: -
--

ALTER TABLE ONLY gateway.operators
    ADD CONSTRAINT operators_pkey PRIMARY KEY (id);


--
-- Name: refresh_tokens refresh_tokens_pkey; Type: CONSTRAINT; Schema: gateway; Owner: -
--

ALTER TABLE ONLY gateway.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash);


--
-- Name: campaigns campaigns_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.campaigns
    ADD CONSTRAINT campaigns_pkey PRIMARY KEY (id);


--
-- Name: checkpoints checkpoints_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.checkpoints
    ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (consumer);


--
-- Name: delivery_applied delivery_applied_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.delivery_applied
    ADD CONSTRAINT delivery_applied_pkey PRIMARY KEY (id);


--
-- Name: delivery_errors delivery_errors_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.delivery_errors
    ADD CONSTRAINT delivery_errors_pkey PRIMARY KEY (campaign_id, code);


--
-- Name: delivery_hours delivery_hours_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.delivery_hours
    ADD CONSTRAINT delivery_hours_pkey PRIMARY KEY (campaign_id, hour);


--
-- Name: delivery_seconds delivery_seconds_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.delivery_seconds
    ADD CONSTRAINT delivery_seconds_pkey PRIMARY KEY (campaign_id, second);


--
-- Name: delivery_segments delivery_segments_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.delivery_segments
    ADD CONSTRAINT delivery_segments_pkey PRIMARY KEY (campaign_id, segment_id, hour);


--
-- Name: delivery_stats delivery_stats_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.delivery_stats
    ADD CONSTRAINT delivery_stats_pkey PRIMARY KEY (campaign_id);


--
-- Name: delivery_variations delivery_variations_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.delivery_variations
    ADD CONSTRAINT delivery_variations_pkey PRIMARY KEY (campaign_id, message_id, variation_id);


--
-- Name: segments segments_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.segments
    ADD CONSTRAINT segments_pkey PRIMARY KEY (id);


--
-- Name: templates templates_pkey; Type: CONSTRAINT; Schema: projection; Owner: -
--

ALTER TABLE ONLY projection.templates
    ADD CONSTRAINT templates_pkey PRIMARY KEY (id);


--
-- Name: invites invites_link_key; Type: CONSTRAINT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.invites
    ADD CONSTRAINT invites_link_key UNIQUE (link);


--
-- Name: invites invites_pkey; Type: CONSTRAINT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.invites
    ADD CONSTRAINT invites_pkey PRIMARY KEY (seq);


--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (seq);


--
-- Name: receipts receipts_pkey; Type: CONSTRAINT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.receipts
    ADD CONSTRAINT receipts_pkey PRIMARY KEY (seq);


--
-- Name: refusals refusals_pkey; Type: CONSTRAINT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.refusals
    ADD CONSTRAINT refusals_pkey PRIMARY KEY (seq);


--
-- Name: violations violations_pkey; Type: CONSTRAINT; Schema: telegram_sim; Owner: -
--

ALTER TABLE ONLY telegram_sim.violations
    ADD CONSTRAINT violations_pkey PRIMARY KEY (seq);


--
-- Name: campaigns_events_notification_id_idx; Type: INDEX; Schema: campaign; Owner: -
--

CREATE UNIQUE INDEX campaigns_events_notification_id_idx ON campaign.campaigns_events USING btree (notification_id);


--
-- Name: contacts_age; Type: INDEX; Schema: campaign; Owner: -
--

CREATE INDEX contacts_age ON campaign.contacts USING btree (age);


--
-- Name: contacts_attributes; Type: INDEX; Schema: campaign; Owner: -
--

CREATE INDEX contacts_attributes ON campaign.contacts USING gin (attributes jsonb_path_ops);


--
-- Name: contacts_audience; Type: INDEX; Schema: campaign; Owner: -
--

CREATE INDEX contacts_audience ON campaign.contacts USING btree (location, age) INCLUDE (interests, purchase_history, is_test_recipient, opted_out, blocked, created_at, id);


--
-- Name: contacts_created; Type: INDEX; Schema: campaign; Owner: -
--

CREATE INDEX contacts_created ON campaign.contacts USING btree (created_at, id);


--
-- Name: contacts_interests; Type: INDEX; Schema: campaign; Owner: -
--

CREATE INDEX contacts_interests ON campaign.contacts USING gin (interests);


--
-- Name: contacts_location; Type: INDEX; Schema: campaign; Owner: -
--

CREATE INDEX contacts_location ON campaign.contacts USING btree (location);


--
-- Name: contacts_search; Type: INDEX; Schema: campaign; Owner: -
--

CREATE INDEX contacts_search ON campaign.contacts USING gin (search_vector);


--
-- Name: schedule_due; Type: INDEX; Schema: campaign; Owner: -
--

CREATE INDEX schedule_due ON campaign.schedule USING btree (due_at);


--
-- Name: deliveries_chat; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX deliveries_chat ON dispatcher.deliveries USING btree (telegram_id, telegram_message_id) WHERE (telegram_message_id IS NOT NULL);


--
-- Name: deliveries_item; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX deliveries_item ON dispatcher.deliveries USING btree (execution_id, item_no);


--
-- Name: deliveries_recipient; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX deliveries_recipient ON dispatcher.deliveries USING btree (campaign_id, contact_id);


--
-- Name: deliveries_unpublished; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX deliveries_unpublished ON dispatcher.deliveries USING btree (finished_at) WHERE ((NOT published) AND (state = ANY (ARRAY['sent'::text, 'failed'::text, 'unconfirmed'::text])));


--
-- Name: executions_campaign; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX executions_campaign ON dispatcher.executions USING btree (campaign_id);


--
-- Name: interactions_execution; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX interactions_execution ON dispatcher.interactions USING btree (execution_id);


--
-- Name: interactions_unpublished; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX interactions_unpublished ON dispatcher.interactions USING btree (recorded_at) WHERE (NOT published);


--
-- Name: webhook_deliveries_finished; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX webhook_deliveries_finished ON dispatcher.webhook_deliveries USING btree (finished_at) WHERE (status <> 'pending'::text);


--
-- Name: webhook_deliveries_lane; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX webhook_deliveries_lane ON dispatcher.webhook_deliveries USING btree (subscription_id, lane, seq, id) WHERE (status = 'pending'::text);


--
-- Name: webhook_deliveries_log; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX webhook_deliveries_log ON dispatcher.webhook_deliveries USING btree (subscription_id, created_at DESC, id);


--
-- Name: webhook_deliveries_ready; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX webhook_deliveries_ready ON dispatcher.webhook_deliveries USING btree (next_attempt_at) WHERE (head AND (status = 'pending'::text));


--
-- Name: work_items_open; Type: INDEX; Schema: dispatcher; Owner: -
--

CREATE INDEX work_items_open ON dispatcher.work_items USING btree (execution_id) WHERE (state = ANY (ARRAY['queued'::text, 'parked'::text]));


--
-- Name: idempotency_keys_created; Type: INDEX; Schema: gateway; Owner: -
--

CREATE INDEX idempotency_keys_created ON gateway.idempotency_keys USING btree (created_at);


--
-- Name: operators_email; Type: INDEX; Schema: gateway; Owner: -
--

CREATE UNIQUE INDEX operators_email ON gateway.operators USING btree (lower(email));


--
-- Name: refresh_tokens_family; Type: INDEX; Schema: gateway; Owner: -
--

CREATE INDEX refresh_tokens_family ON gateway.refresh_tokens USING btree (family_id);


--
-- Name: refresh_tokens_operator; Type: INDEX; Schema: gateway; Owner: -
--

CREATE INDEX refresh_tokens_operator ON gateway.refresh_tokens USING btree (operator_id);


--
-- Name: campaigns_created_at; Type: INDEX; Schema: projection; Owner: -
--

CREATE INDEX campaigns_created_at ON projection.campaigns USING btree (created_at, id) WHERE (deleted_at IS NULL);


--
-- Name: campaigns_search; Type: INDEX; Schema: projection; Owner: -
--

CREATE INDEX campaigns_search ON projection.campaigns USING gin (search_vector) WITH (fastupdate=off) WHERE (deleted_at IS NULL);


--
-- Name: campaigns_status; Type: INDEX; Schema: projection; Owner: -
--

CREATE INDEX campaigns_status ON projection.campaigns USING btree (status, created_at) WHERE (deleted_at IS NULL);


--
-- Name: campaigns_status_type; Type: INDEX; Schema: projection; Owner: -
--

CREATE INDEX campaigns_status_type ON projection.campaigns USING btree (status, type, created_at, id) WHERE (deleted_at IS NULL);


--
-- Name: segments_created_at; Type: INDEX; Schema: projection; Owner: -
--

CREATE INDEX segments_created_at ON projection.segments USING btree (created_at, id) WHERE (deleted_at IS NULL);


--
-- Name: segments_search; Type: INDEX; Schema: projection; Owner: -
--

CREATE INDEX segments_search ON projection.segments USING gin (search_vector) WITH (fastupdate=off) WHERE (deleted_at IS NULL);


--
-- Name: templates_created_at; Type: INDEX; Schema: projection; Owner: -
--

CREATE INDEX templates_created_at ON projection.templates USING btree (created_at, id) WHERE (deleted_at IS NULL);


--
-- Name: templates_search; Type: INDEX; Schema: projection; Owner: -
--

CREATE INDEX templates_search ON projection.templates USING gin (search_vector) WITH (fastupdate=off) WHERE (deleted_at IS NULL);


--
-- Name: messages_chat; Type: INDEX; Schema: telegram_sim; Owner: -
--

CREATE INDEX messages_chat ON telegram_sim.messages USING btree (chat_id, message_id);


--
-- Name: messages_reference; Type: INDEX; Schema: telegram_sim; Owner: -
--

CREATE INDEX messages_reference ON telegram_sim.messages USING btree (reference);


--
-- Name: webhook_attempts webhook_attempts_delivery_id_fkey; Type: FK CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.webhook_attempts
    ADD CONSTRAINT webhook_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES dispatcher.webhook_deliveries(id) ON DELETE CASCADE;


--
-- Name: webhook_deliveries webhook_deliveries_subscription_id_fkey; Type: FK CONSTRAINT; Schema: dispatcher; Owner: -
--

ALTER TABLE ONLY dispatcher.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES dispatcher.webhook_subscriptions(id) ON DELETE CASCADE;


--
-- Name: refresh_tokens refresh_tokens_operator_id_fkey; Type: FK CONSTRAINT; Schema: gateway; Owner: -
--

ALTER TABLE ONLY gateway.refresh_tokens
    ADD CONSTRAINT refresh_tokens_operator_id_fkey FOREIGN KEY (operator_id) REFERENCES gateway.operators(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--
