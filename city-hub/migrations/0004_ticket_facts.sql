-- Per-ticket facts kept at ingest, so a month's report is one scan of
-- narrow rows instead of following every ticket through its events.
--
-- `ticket_facts`: one row per issued ticket. From the event stream
-- (`source = 'events'`): the issue and the first call (a recall is not a
-- call) with its officer; served/no-show/service stay 0/NULL there (they
-- are per stay, in `stay_facts`). From a backfilled day's exported tickets
-- (`source = 'tickets'`): the whole ticket, its outcome and service time
-- included (the export keeps only its last stay).
CREATE TABLE ticket_facts (
    center         text   NOT NULL,
    source         text   NOT NULL CHECK (source IN ('events', 'tickets')),
    ticket         bigint NOT NULL,
    day            text   NOT NULL,
    department     text   NOT NULL,
    issued_at      bigint NOT NULL,
    hour           text   NOT NULL,
    first_call_seq bigint,
    first_call     bigint,
    officer        text,
    served         integer NOT NULL DEFAULT 0,
    no_show        integer NOT NULL DEFAULT 0,
    service        bigint,
    PRIMARY KEY (center, source, ticket)
);
CREATE INDEX ticket_facts_day ON ticket_facts (day, center);

-- One row per closed stay at a counter (a `finished` or `no_show` event):
-- the ticket's issuing day, department and hour, the officer of the stay's
-- call and the service time (start, or the call, → finish), whole seconds.
CREATE TABLE stay_facts (
    center     text    NOT NULL,
    seq        bigint  NOT NULL,
    ticket     bigint  NOT NULL,
    day        text    NOT NULL,
    department text    NOT NULL,
    hour       text    NOT NULL,
    officer    text,
    served     integer NOT NULL,
    no_show    integer NOT NULL,
    service    bigint,
    PRIMARY KEY (center, seq)
);
CREATE INDEX stay_facts_day ON stay_facts (day, center);

-- One row per `rated` event, in its ticket's issuing day, department and
-- hour, at the officer who served it (`staff`).
CREATE TABLE rating_facts (
    center     text   NOT NULL,
    seq        bigint NOT NULL,
    ticket     bigint NOT NULL,
    day        text   NOT NULL,
    department text   NOT NULL,
    hour       text   NOT NULL,
    officer    text,
    level      text,
    PRIMARY KEY (center, seq)
);
CREATE INDEX rating_facts_day ON rating_facts (day, center);

-- The hub fills the three tables from the events and day tickets already
-- stored right after this file, in the same transaction (db.rs).
